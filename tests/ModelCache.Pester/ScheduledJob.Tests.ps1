# A scheduled-job script run as a real child pwsh process: $ErrorActionPreference = 'Stop' makes a
# failed save or verification end the job with a non-zero exit code; a good run exits 0.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Job = Join-Path $TestDrive 'provision.ps1'
    Set-Content -LiteralPath $Job -Value @'
param([string] $Module, [string] $Model)
$ErrorActionPreference = 'Stop'
Import-Module $Module
Save-Model $Model | Test-ModelHash | ForEach-Object { "status: $($_.Status)" }
'job finished'
'@
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'A provisioning job with -ErrorAction Stop semantics' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'job'
    }

    It 'exits 0 and verifies when the mirror holds a good copy' {
        $run = Invoke-ChildPwsh $Job -Arguments $ModuleUnderTest, $Yolo
        $run.Output | Should -Contain 'status: Valid'
        $run.Output | Should -Contain 'job finished'
        $run.ExitCode | Should -Be 0
        (Get-ModelCache).Name | Should -Be $Yolo
    }

    It 'exits non-zero, before its last line, when the mirror copy is tampered (HashMismatch)' {
        $mirror = Join-Path $Sandbox.Root 'tampered-mirror'
        $null = New-Item -ItemType Directory -Path $mirror
        # Same size as the catalog says, one byte changed: only the hash can tell.
        $bytes = [IO.File]::ReadAllBytes((Join-Path $FixtureModels $YoloFile))
        $bytes[1000] = $bytes[1000] -bxor 0xFF
        [IO.File]::WriteAllBytes((Join-Path $mirror $YoloFile), $bytes)
        $env:MODELCACHE_MIRROR = $mirror

        $run = Invoke-ChildPwsh $Job -Arguments $ModuleUnderTest, $Yolo
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Not -Contain 'job finished'
        ($run.Output -join "`n") | Should -Match 'HashMismatch|SHA-256'
        Get-ModelCache | Should -BeNullOrEmpty
    }

    It 'exits non-zero when the model is missing from the mirror' {
        $mirror = Join-Path $Sandbox.Root 'empty-mirror'
        $null = New-Item -ItemType Directory -Path $mirror
        $env:MODELCACHE_MIRROR = $mirror

        $run = Invoke-ChildPwsh $Job -Arguments $ModuleUnderTest, $Yolo
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Not -Contain 'job finished'
        ($run.Output -join "`n") | Should -Match 'SourceFileNotFound|does not exist|not found'
    }

    It 'exits non-zero on an offline machine whose cached copy was damaged in place' {
        $path = (Save-Model $Yolo).Path
        # Same size, one byte changed; with no mirror and offline, nothing can replace it.
        $bytes = [IO.File]::ReadAllBytes($path)
        $bytes[1000] = $bytes[1000] -bxor 0xFF
        [IO.File]::WriteAllBytes($path, $bytes)
        Remove-Item Env:MODELCACHE_MIRROR

        $run = Invoke-ChildPwsh $Job -Arguments $ModuleUnderTest, $Yolo
        $run.ExitCode | Should -Not -Be 0
        $run.Output | Should -Not -Contain 'job finished'
        $run.Output | Should -Not -Match '^status: '
        ($run.Output -join "`n") | Should -Match 'corrupt'
    }
}
