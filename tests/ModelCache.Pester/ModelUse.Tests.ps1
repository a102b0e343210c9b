# Using a cached model is not acquiring it: Invoke-FaceDetect hashes a model file at most once per
# process, and in a fresh process skips the hash only when this user alone can write the cache root.
# Each call runs in a real pwsh of its own; bytes hashed are counted (from -Verbose), not time.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Detect = Join-Path $TestDrive 'detect.ps1'
    Set-Content -LiteralPath $Detect -Value @'
param([string] $Module, [string] $Image, [string] $Model)
$ErrorActionPreference = 'Stop'
Import-Module $Module
foreach ($call in 1, 2) {
    Invoke-FaceDetect -LiteralPath $Image -Model $Model -Offline -Verbose 4>&1 |
        Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Verified by *' } |
        ForEach-Object { "CALL $call $($_.Message)" }
}
'@
    function Invoke-Detect {
        (Invoke-ChildPwsh $Detect -Arguments $ModuleUnderTest, (Join-Path $FixtureImages 'portrait.jpg'), $Yolo).Output
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Invoke-FaceDetect opens a cached model without acquiring it' -Skip:(-not $IsLinux) {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'model-use'
        $null = Save-Model $Yolo
        $script:First = Invoke-Detect
        $script:Second = Invoke-Detect
    }

    It 'hashes the file once in the first process, then remembers it' {
        $First | Should -Contain "CALL 1 Verified by Hash; $YoloSize bytes hashed." -Because ($First -join "`n")
        $First | Should -Contain 'CALL 2 Verified by ProcessRecord; 0 bytes hashed.'
    }

    It 'does not hash it again in a fresh process on a root only this user can write' {
        $Second | Should -Contain 'CALL 1 Verified by UserFingerprint; 0 bytes hashed.' -Because ($Second -join "`n")
    }

    It 'keeps its fingerprints outside the cache root' {
        Join-Path $Sandbox.Config 'modelcache/fingerprints.json' | Should -Exist
        @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Filter 'fingerprints*') | Should -HaveCount 0
    }

    It 'hashes again in a fresh process once others can write the root' {
        & chmod o+w $Sandbox.Cache
        $third = Invoke-Detect
        $third | Should -Contain "CALL 1 Verified by Hash; $YoloSize bytes hashed." -Because ($third -join "`n")
    }
}

Describe 'A detection after Save-Model | Test-ModelHash in the same session hashes nothing' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'model-use-after-test'
        $script:AfterTest = Join-Path $TestDrive 'after-test.ps1'
        Set-Content -LiteralPath $AfterTest -Value @'
param([string] $Module, [string] $Image, [string] $Model)
$ErrorActionPreference = 'Stop'
Import-Module $Module
Save-Model $Model | Test-ModelHash | ForEach-Object { "TEST $($_.Status)" }
Invoke-FaceDetect -LiteralPath $Image -Model $Model -Verbose 4>&1 |
    Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Verified by *' } |
    ForEach-Object { "DETECT $($_.Message)" }
'@
        $script:Lines = (Invoke-ChildPwsh $AfterTest -Arguments $ModuleUnderTest, (Join-Path $FixtureImages 'portrait.jpg'), $Yolo).Output
    }

    It 'is vouched for by the fingerprint the save and the test recorded' {
        $Lines | Should -Contain 'TEST Valid' -Because ($Lines -join "`n")
        $Lines | Should -Contain 'DETECT Verified by ProcessRecord; 0 bytes hashed.' -Because ($Lines -join "`n")
    }
}
