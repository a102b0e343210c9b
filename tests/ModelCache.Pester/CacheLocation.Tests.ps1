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
        $location = Set-ModelCacheLocation $root -PassThru
        $location | Get-TypeName | Should -BeIn (Get-Command Set-ModelCacheLocation).OutputType.Name
        "$($location.Source)" | Should -Be 'ProcessSetting'
        $location.Path | Should -Be $root
        (Save-Model $Yolo).Path | Should -BeLike "$root*"

        Set-ModelCacheLocation -Reset
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It 'without -PassThru writes nothing' {
        Set-ModelCacheLocation (Join-Path $Sandbox.Root 'quiet') | Should -BeNullOrEmpty
    }

    It '-Scope User -WhatIf persists nothing and creates no directory' {
        $root = Join-Path $Sandbox.Root 'user-root'
        $out = Set-ModelCacheLocation $root -Scope User -WhatIf
        $out | Should -BeNullOrEmpty
        Test-Path -LiteralPath $SettingsFile | Should -BeFalse
        Test-Path -LiteralPath $root | Should -BeFalse
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It '-Scope User -Confirm:$false persists the root in XDG_CONFIG_HOME/modelcache/settings.json, over MODELCACHE_HOME' {
        $root = Join-Path $Sandbox.Root 'user-root'
        Set-ModelCacheLocation $root -Scope User -Confirm:$false
        Test-Path -LiteralPath $SettingsFile | Should -BeTrue
        Get-Content -Raw -LiteralPath $SettingsFile | Should -Match ([regex]::Escape(($root | ConvertTo-Json).Trim('"')))
        $location = Get-ModelCacheLocation
        "$($location.Source)" | Should -Be 'UserSetting'
        $location.Path | Should -Be $root

        Set-ModelCacheLocation -Reset -Scope User -Confirm:$false
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }

    It 'a root that cannot be created is a terminating CacheRootNotWritable error' {
        $file = Join-Path $Sandbox.Root 'a-file'
        Set-Content -LiteralPath $file -Value x
        { Set-ModelCacheLocation (Join-Path $file 'sub') } | Should -Throw -ErrorId 'CacheRootNotWritable,ModelCache.PowerShell.Cmdlets.SetModelCacheLocationCommand'
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'EnvironmentVariable'
    }
}
