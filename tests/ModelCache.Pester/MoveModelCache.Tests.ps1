# Move-ModelCache: a fixture-backed cache moved through the cmdlet, -WhatIf, refusals' error ids, piping, and the
# switch of an isolated user setting.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:MoveResultType = 'ModelCache.Moves.ModelMoveResult'
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Move-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'move'
        $script:SettingsFile = Join-Path $Sandbox.Config 'modelcache/settings.json'
        $null = Save-Model $Yolo, $Slim -ErrorAction Stop
        $script:Target = Join-Path $Sandbox.Root 'moved'
    }

    It 'moves a whole fixture-backed cache: every model verified at the destination, the old root gone' {
        $results = @(Move-ModelCache -Destination $Target -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue)

        $results.Count | Should -Be 2
        $results | Get-TypeName | Should -BeIn (Get-Command Move-ModelCache).OutputType.Name
        $results | ForEach-Object { "$($_.Status)" | Should -Be 'Moved' }
        (Get-ModelCache -CachePath $Target | Test-ModelHash).Status | ForEach-Object { "$_" | Should -Be 'Valid' }
        (Get-ModelCache -CachePath $Target | Test-ModelHash).Name | Sort-Object | Should -Be @($Slim, $Yolo | Sort-Object)
        Test-Path -LiteralPath $Sandbox.Cache | Should -BeFalse
        # MODELCACHE_HOME named the old root: the session goes on with the new one, and the user is told where to change it for good.
        $env:MODELCACHE_HOME | Should -Be $Target
        @($warnings | Where-Object { "$_" -match 'MODELCACHE_HOME' -and "$_" -match 'this session' -and "$_" -match 'where it is defined' }).Count | Should -Be 1
        $location = Get-ModelCacheLocation
        $location.Path | Should -Be $Target
        "$($location.Source)" | Should -Be 'EnvironmentVariable'
        (Get-ModelCache).Name | Sort-Object | Should -Be @($Slim, $Yolo | Sort-Object)
    }

    It '-NoSessionUpdate leaves the session on $env:MODELCACHE_HOME, and warns that it still names the old root' {
        $null = Move-ModelCache -Destination $Target -NoSessionUpdate -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue

        $env:MODELCACHE_HOME | Should -Be $Sandbox.Cache
        (Get-ModelCacheLocation).Path | Should -Be $Sandbox.Cache
        @($warnings | Where-Object { "$_" -match 'still names the old root' }).Count | Should -Be 1
        (Get-ModelCache -CachePath $Target).Name | Sort-Object | Should -Be @($Slim, $Yolo | Sort-Object)
    }

    It 'carries optimized copies (Optimize-ModelCache -Precompile), each verified by its own hash, and Invoke-FaceDetect uses them' {
        $null = Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false -ErrorAction Stop
        $optimized = @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -File -Filter '*.optimized.onnx')
        $optimized.Count | Should -Be 1
        $hash = (Get-FileHash -LiteralPath $optimized[0].FullName).Hash

        $null = Move-ModelCache -Destination $Target -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue

        $moved = @(Get-ChildItem -LiteralPath $Target -Recurse -File -Filter '*.optimized.onnx')
        $moved.Count | Should -Be 1
        (Get-FileHash -LiteralPath $moved[0].FullName).Hash | Should -Be $hash
        @(Get-ChildItem -LiteralPath $Target -Recurse -File -Filter '*.optimized.json').Count | Should -Be 1
        $warnings | Where-Object { "$_" -match 'optimized' } | Should -BeNullOrEmpty
        $verbose = Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'zidane.jpg') -Model $Slim -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        "$verbose" | Should -Match ([regex]::Escape($moved[0].FullName))
    }

    It 'says so when an optimized copy does not verify, and does not carry it' {
        $null = Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false -ErrorAction Stop
        $optimized = @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -File -Filter '*.optimized.onnx')[0].FullName
        $bytes = [IO.File]::ReadAllBytes($optimized); $bytes[200] = $bytes[200] -bxor 1; [IO.File]::WriteAllBytes($optimized, $bytes)

        $results = @(Move-ModelCache -Destination $Target -Confirm:$false -WarningVariable warnings -WarningAction SilentlyContinue)

        $results | ForEach-Object { "$($_.Status)" | Should -Be 'Moved' }
        @(Get-ChildItem -LiteralPath $Target -Recurse -File -Filter '*.optimized.onnx') | Should -BeNullOrEmpty
        $said = @($warnings | Where-Object { "$_" -match 'optimized copy' })
        $said.Count | Should -Be 1
        "$said" | Should -Match ([regex]::Escape($Slim))
        "$said" | Should -Match 'Optimize-ModelCache'
    }

    It '-WhatIf changes nothing and says how many models and bytes' {
        $before = @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName)
        # What-if messages go to the host: run in a child pwsh (it inherits the sandbox's variables) and read its console.
        $script = Join-Path $Sandbox.Root 'whatif.ps1'
        Set-Content -LiteralPath $script -Value "Import-Module '$ModuleUnderTest'; Move-ModelCache -Destination '$Target' -WhatIf"
        $child = Invoke-ChildPwsh $script
        $child.ExitCode | Should -Be 0
        $said = $child.Output -join ''

        Test-Path -LiteralPath $Target | Should -BeFalse
        @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName) | Should -Be $before
        $said | Should -Match ([regex]::Escape('What if: Performing the operation "Move the model cache" on target'))
        $said | Should -Match '2 models, [0-9.]+ MiB \([0-9.]+ MiB to copy\)'
        $said | Should -Not -Match 'Exception'
    }

    It 'moves only what -Name selects and leaves the setting alone' {
        Set-ModelCacheLocation $Sandbox.Cache -Scope CurrentUser -Confirm:$false
        $result = Move-ModelCache -Destination $Target -Name 'UltraFace/*' -Confirm:$false

        $result.Name | Should -Be $Slim
        "$($result.Status)" | Should -Be 'Moved'
        (Get-ModelCache -CachePath $Sandbox.Cache).Name | Should -Be $Yolo
        (Get-ModelCache -CachePath $Target).Name | Should -Be $Slim
        (Get-Content -Raw -LiteralPath $SettingsFile | ConvertFrom-Json).cacheRoot | Should -Be $Sandbox.Cache
    }

    It 'switches an isolated -Scope CurrentUser setting that named the old root when the whole root moves' {
        Set-ModelCacheLocation $Sandbox.Cache -Scope CurrentUser -Confirm:$false
        $env:MODELCACHE_HOME = $null

        $null = Move-ModelCache -Destination $Target -Confirm:$false -WarningVariable warnings

        $warnings | Should -BeNullOrEmpty
        (Get-Content -Raw -LiteralPath $SettingsFile | ConvertFrom-Json).cacheRoot | Should -Be $Target
        $location = Get-ModelCacheLocation
        "$($location.Source)" | Should -Be 'UserSetting'
        $location.Path | Should -Be $Target
        (Get-ModelCache).Name | Sort-Object | Should -Be @($Slim, $Yolo | Sort-Object)
        $SettingsFile | Should -BeLike "$TestDrive*"
    }

    It 'switches the -Scope Process setting too' {
        Set-ModelCacheLocation $Sandbox.Cache -Scope Process
        $null = Move-ModelCache -Destination $Target -Confirm:$false -WarningAction SilentlyContinue
        (Get-ModelCacheLocation).Path | Should -Be $Target
        "$((Get-ModelCacheLocation).Source)" | Should -Be 'ProcessSetting'
    }

    It 'takes piped entries and its output pipes on' {
        $valid = Get-ModelCache $Yolo | Move-ModelCache -Destination $Target -Confirm:$false |
            ForEach-Object { Test-ModelHash -LiteralPath $_.Destination -Sha256 $YoloSha }
        "$($valid.Status)" | Should -Be 'Valid'
        (Get-ModelCache -CachePath $Sandbox.Cache).Name | Should -Be $Slim
    }

    It 'a corrupt source model is a non-terminating HashMismatch and nothing is deleted' {
        $file = (Get-ModelCache $Slim).Path
        $bytes = [IO.File]::ReadAllBytes($file); $bytes[100] = $bytes[100] -bxor 0xff; [IO.File]::WriteAllBytes($file, $bytes)

        $results = @(Move-ModelCache -Destination $Target -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)

        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'HashMismatch,ModelCache.PowerShell.Cmdlets.MoveModelCacheCommand'
        $failures[0].TargetObject | Should -Be $Slim
        "$(($results | Where-Object Name -eq $Slim).Status)" | Should -Be 'Failed'
        "$(($results | Where-Object Name -eq $Yolo).Status)" | Should -Be 'Copied'
        Test-Path -LiteralPath $file | Should -BeTrue
        Test-Path -LiteralPath (Get-ModelCache $Yolo).Path | Should -BeTrue
    }

    It 'refuses <Case> with <Id> before copying anything' -ForEach @(
        @{ Case = 'the cache root itself'; Id = 'MoveDestinationInsideSource'; Destination = { $Sandbox.Cache } }
        @{ Case = 'a folder inside the cache'; Id = 'MoveDestinationInsideSource'; Destination = { Join-Path $Sandbox.Cache 'models/inner' } }
        @{ Case = 'a folder holding the cache'; Id = 'MoveSourceInsideDestination'; Destination = { $Sandbox.Root } }
        @{ Case = 'a folder of loose model files'; Id = 'CacheRootIsForeignLayout'; Destination = {
            $folder = Join-Path $Sandbox.Root 'loose'; $null = New-Item -ItemType Directory $folder
            Copy-Item (Join-Path $FixtureModels $YoloFile) $folder; $folder } }
    ) {
        $destination = & $Destination
        $before = @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName)
        $err = $null
        try { Move-ModelCache -Destination $destination -Confirm:$false -WarningAction SilentlyContinue } catch { $err = $_ }

        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be "$Id,ModelCache.PowerShell.Cmdlets.MoveModelCacheCommand"
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName) | Should -Be $before
    }

    It 'shows a table of Name, Status, Size and Destination' {
        $lines = (Move-ModelCache -Destination $Target -Confirm:$false -WarningAction SilentlyContinue | Format-Table | Out-String -Width 120) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines[0] | Should -Match 'Name\s+Status\s+Size\s+Destination'
        ($lines -join "`n") | Should -Match ([regex]::Escape($Yolo))
    }
}
