# Get-ModelCacheLocation and Set-ModelCacheLocation: precedence, scopes, -WhatIf/-Confirm.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Get-ModelCacheLocation' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'location'
    }

    It 'shows MODELCACHE_HOME as the effective root' {
        $location = Get-ModelCacheLocation
        $location | Get-TypeName | Should -Be $TypeNames.Location
        $location | Get-TypeName | Should -BeIn (Get-Command Get-ModelCacheLocation).OutputType.Name
        "$($location.Source)" | Should -Be 'EnvironmentVariable'
        $location.Path | Should -Be $Sandbox.Cache
    }

    It 'resolves -Path relative to the current location, with Source Parameter' {
        Push-Location $Sandbox.Root
        try { $location = Get-ModelCacheLocation ./build/models } finally { Pop-Location }
        "$($location.Source)" | Should -Be 'Parameter'
        $location.Path | Should -Be (Join-Path $Sandbox.Root 'build/models')
    }

    It 'falls back to XDG_CACHE_HOME/modelcache without MODELCACHE_HOME' {
        $env:MODELCACHE_HOME = $null
        (Get-ModelCacheLocation).Path | Should -Be (Join-Path $env:XDG_CACHE_HOME 'modelcache')
    }
}

Describe 'Set-ModelCacheLocation' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'set-location'
        $script:SettingsFile = Join-Path $Sandbox.Config 'modelcache/settings.json'
    }

    It '-Scope Process wins over MODELCACHE_HOME and -Reset goes back' {
        $root = Join-Path $Sandbox.Root 'process-root'
        $location = Set-ModelCacheLocation $root -PassThru -Scope Process
        $location | Get-TypeName | Should -BeIn (Get-Command Set-ModelCacheLocation).OutputType.Name
        "$($location.Source)" | Should -Be 'ProcessSetting'
        $location.Path | Should -Be $root
        (Save-Model $Yolo).Path | Should -BeLike "$root*"

        Set-ModelCacheLocation -Reset -Scope Process
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It 'without -PassThru writes nothing' {
        Set-ModelCacheLocation (Join-Path $Sandbox.Root 'quiet') -Scope Process | Should -BeNullOrEmpty
    }

    It '-Scope CurrentUser -WhatIf persists nothing and creates no directory' {
        $root = Join-Path $Sandbox.Root 'user-root'
        $out = Set-ModelCacheLocation $root -Scope CurrentUser -WhatIf
        $out | Should -BeNullOrEmpty
        Test-Path -LiteralPath $SettingsFile | Should -BeFalse
        Test-Path -LiteralPath $root | Should -BeFalse
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It '-Scope CurrentUser -Confirm:$false persists the root in XDG_CONFIG_HOME/modelcache/settings.json, over MODELCACHE_HOME' {
        $root = Join-Path $Sandbox.Root 'user-root'
        Set-ModelCacheLocation $root -Scope CurrentUser -Confirm:$false
        Test-Path -LiteralPath $SettingsFile | Should -BeTrue
        Get-Content -Raw -LiteralPath $SettingsFile | Should -Match ([regex]::Escape(($root | ConvertTo-Json).Trim('"')))
        $location = Get-ModelCacheLocation
        "$($location.Source)" | Should -Be 'UserSetting'
        $location.Path | Should -Be $root

        Set-ModelCacheLocation -Reset -Scope CurrentUser -Confirm:$false
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It 'a root that cannot be created is a terminating CacheRootNotWritable error' {
        $file = Join-Path $Sandbox.Root 'a-file'
        Set-Content -LiteralPath $file -Value x
        { Set-ModelCacheLocation (Join-Path $file 'sub') -Scope Process } | Should -Throw -ErrorId 'CacheRootNotWritable,ModelCache.PowerShell.Cmdlets.SetModelCacheLocationCommand'
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }
}

Describe 'Set-ModelCacheLocation -Scope AllUsers' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'machine-location'
    }

    It 'writes the machine-wide file MODELCACHE_MACHINE_CONFIG names, below the user setting and above MODELCACHE_HOME' {
        $machineRoot = Join-Path $Sandbox.Root 'machine-cache'
        $location = Set-ModelCacheLocation $machineRoot -Scope AllUsers -Confirm:$false -PassThru

        "$($location.Source)" | Should -Be 'AllUsersSetting'
        $location.Path | Should -Be $machineRoot
        (Get-Content -Raw $env:MODELCACHE_MACHINE_CONFIG | ConvertFrom-Json).cacheRoot | Should -Be $machineRoot
        Test-Path -LiteralPath '/etc/modelcache/config.json' | Should -BeFalse -Because 'tests never touch the real machine config'

        $userRoot = Join-Path $Sandbox.Root 'user-cache'
        Set-ModelCacheLocation $userRoot -Scope CurrentUser -Confirm:$false
        (Get-ModelCacheLocation).Path | Should -Be $userRoot
        Set-ModelCacheLocation -Reset -Scope CurrentUser -Confirm:$false
        (Get-ModelCacheLocation).Path | Should -Be $machineRoot
        Set-ModelCacheLocation -Reset -Scope AllUsers -Confirm:$false
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It 'says how to write the machine file when it cannot, with SettingsNotWritable' {
        $blocker = Join-Path $Sandbox.Root 'not-a-folder'
        Set-Content -LiteralPath $blocker -Value 'a file where a folder must go'
        $env:MODELCACHE_MACHINE_CONFIG = Join-Path $blocker 'config.json'
        $thrown = { Set-ModelCacheLocation (Join-Path $Sandbox.Root 'x') -Scope AllUsers -Confirm:$false } | Should -Throw -ErrorId 'SettingsNotWritable,ModelCache.PowerShell.Cmdlets.SetModelCacheLocationCommand' -PassThru
        $thrown.ErrorDetails.RecommendedAction + $thrown.Exception.Message | Should -Not -BeNullOrEmpty
    }
}

Describe 'Per-model locations' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'model-location'
        $script:Own = Join-Path $Sandbox.Root 'models-on-d'
    }

    It 'puts the model''s file in its folder, and every cmdlet finds it there' {
        Set-ModelCacheLocation -Name $Yolo -Path $Own -Scope CurrentUser -Confirm:$false

        $saved = Save-Model $Yolo, $Slim
        ($saved | Where-Object Name -eq $Yolo).Path | Should -Be (Join-Path $Own $YoloFile)
        ($saved | Where-Object Name -eq $Slim).Path | Should -BeLike "$($Sandbox.Cache)*"
        Test-Path -LiteralPath (Join-Path $Own 'entry.json') | Should -BeFalse -Because 'metadata stays in the cache root'

        (Get-ModelCache $Yolo).Path | Should -Be (Join-Path $Own $YoloFile)
        "$((Test-ModelHash $Yolo).Status)" | Should -Be 'Valid'
        "$((Get-ModelCache -Verify $Yolo).LastCheck)" | Should -Be 'Passed'
        (Get-ModelCache -Summary).EntryCount | Should -Be 2
        $before = (Get-ModelCache $Yolo).LastUsed
        $detection = Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'portrait.jpg') -Model $Yolo
        $detection.Model | Should -Be $Yolo
        (Get-ModelCache $Yolo).LastUsed | Should -BeGreaterThan $before -Because 'the use is recorded on the relocated entry'
        @(Get-ChildItem -Recurse -File -LiteralPath $Sandbox.Cache -Filter $YoloFile) | Should -BeNullOrEmpty
        "$((Save-Model $Yolo).Source)" | Should -Be 'Cache'

        Get-ModelCache $Yolo | Clear-ModelCache -Confirm:$false
        Test-Path -LiteralPath (Join-Path $Own $YoloFile) | Should -BeFalse
        Test-Path -LiteralPath $Own | Should -BeTrue -Because 'the folder is the user''s'
    }

    It 'is overridden by -Path, and -Reset forgets it without deleting anything' {
        Set-ModelCacheLocation -Name $Yolo -Path $Own -Confirm:$false -Scope Process
        $null = Save-Model $Yolo
        $other = Join-Path $Sandbox.Root 'explicit'
        (Save-Model $Yolo -CachePath $other).Path | Should -BeLike "$other*"

        Set-ModelCacheLocation -Name $Yolo -Reset -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue -Scope Process
        Test-Path -LiteralPath (Join-Path $Own $YoloFile) | Should -BeTrue
        "$warned" | Should -BeLike "*$Yolo is cached at*Import-ModelCache -LiteralPath*"
        "$((Get-ModelCacheLocation -Name $Yolo).Source)" | Should -Be 'EnvironmentVariable'
        (Get-ModelCacheLocation -Name $Yolo).Path | Should -Be (Join-Path $Sandbox.Cache "models/$Yolo")

        # The warning's hint brings the copy into the root.
        "$((Import-ModelCache -LiteralPath $Own).Status)" | Should -Be 'Imported'
        (Get-ModelCache $Yolo).Path | Should -Be (Join-Path $Sandbox.Cache "models/$Yolo/$YoloFile")
    }

    It 'shows the folder and the rule that chose it, per scope, and lists models with their own location' {
        Set-ModelCacheLocation -Name $Yolo -Path (Join-Path $Sandbox.Root 'machine') -Scope AllUsers -Confirm:$false
        Set-ModelCacheLocation -Name $Yolo -Path (Join-Path $Sandbox.Root 'user') -Scope CurrentUser -Confirm:$false
        Set-ModelCacheLocation -Name $Slim -Path (Join-Path $Sandbox.Root 'slim') -Confirm:$false -Scope Process

        $location = Get-ModelCacheLocation -Name $Yolo
        $location.Model | Should -Be $Yolo
        $location.Path | Should -Be (Join-Path $Sandbox.Root 'user')
        "$($location.Source)" | Should -Be 'UserSetting'
        $location.Detail | Should -BeLike "Set-ModelCacheLocation -Name $Yolo -Scope CurrentUser*"

        $listed = Get-ModelCacheLocation -ListModels
        @($listed.Model) | Should -Be @($Slim, $Yolo)
        "$(($listed | Where-Object Model -eq $Slim).Source)" | Should -Be 'ProcessSetting'

        Set-ModelCacheLocation -Name $Yolo -Reset -Scope CurrentUser -Confirm:$false
        (Get-ModelCacheLocation -Name $Yolo).Path | Should -Be (Join-Path $Sandbox.Root 'machine')
        $Rfb | Get-ModelCacheLocation | ForEach-Object { "$($_.Source)" } | Should -Be 'EnvironmentVariable'
    }

    It 'refuses a name the catalog does not know, and -WhatIf writes nothing' {
        { Set-ModelCacheLocation -Name 'No/Such' -Path $Own -Confirm:$false -Scope Process } | Should -Throw -ErrorId 'ModelNotFound,ModelCache.PowerShell.Cmdlets.SetModelCacheLocationCommand'
        Set-ModelCacheLocation -Name $Yolo -Path $Own -Scope CurrentUser -WhatIf
        Get-ModelCacheLocation -ListModels | Should -BeNullOrEmpty
        Test-Path -LiteralPath $Own | Should -BeFalse
    }
}
