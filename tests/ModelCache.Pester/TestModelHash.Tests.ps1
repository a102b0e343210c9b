# Test-ModelHash: pipelines, files, results, error records and -Quiet.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Test-ModelHash' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hash'
    }

    It 'says a -Path root that does not exist does not exist, once, and -Quiet is false' {
        $missing = Join-Path $Sandbox.Root 'no/such/root'
        $null = Test-ModelHash -CachePath $missing -ErrorVariable failed -ErrorAction SilentlyContinue
        $null = Test-ModelHash $Yolo, $Slim -CachePath $missing -ErrorVariable named -ErrorAction SilentlyContinue
        foreach ($errors in @(, $failed) + @(, $named)) {
            @($errors).Count | Should -Be 1
            ($errors[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'CacheRootNotFound'
            $errors[0].Exception.Message | Should -Match ([regex]::Escape($missing))
        }
        Test-ModelHash -CachePath $missing -Quiet -ErrorAction SilentlyContinue | Should -BeFalse
    }

    It 'checks the entries Save-Model pipes in by value (Save-Model | Test-ModelHash)' {
        $results = Save-Model $Yolo, $Slim | Test-ModelHash
        @($results).Count | Should -Be 2
        $results | ForEach-Object { $_ | Get-TypeName | Should -Be $TypeNames.HashResult }
        @($results.Status.ForEach({ "$_" }) | Select-Object -Unique) | Should -Be @('Valid')
        ($results | Where-Object Name -eq $Yolo).Actual | Should -Be $YoloSha
        ($results | Where-Object Name -eq $Yolo).Path | Should -BeLike "$($Sandbox.Cache)*"
    }

    It 'emits the types its [OutputType] declares' {
        $declared = (Get-Command Test-ModelHash).OutputType.Name
        $null = Save-Model $Yolo
        Test-ModelHash $Yolo | Get-TypeName | Should -BeIn $declared
        Test-ModelHash $Yolo -Quiet | Get-TypeName | Should -BeIn $declared
    }

    It 'checks model files piped from Get-ChildItem, matching them to the catalog by file name' {
        $results = Get-ChildItem -LiteralPath $FixtureModels -Filter *.onnx | Test-ModelHash
        @($results).Count | Should -Be 9
        @($results | Where-Object { "$($_.Status)" -ne 'Valid' }) | Should -BeNullOrEmpty
        ($results | Where-Object Path -like "*$YoloFile").Name | Should -Be $Yolo
    }

    It 'takes names from the pipeline by value' {
        $null = Save-Model $Yolo
        (Get-ModelCache | ForEach-Object Name | Test-ModelHash).Status.ToString() | Should -Be 'Valid'
    }

    It 'with no argument checks every cached model' {
        $null = Save-Model $Yolo, $Slim
        @((Test-ModelHash).Name | Sort-Object) | Should -Be @($Slim, $Yolo)
    }

    It 'a tampered file is a Mismatch result plus a HashMismatch error (InvalidData), and $? is false' {
        $path = (Save-Model $Yolo).Path
        [IO.File]::WriteAllBytes($path, [byte[]](1, 2, 3))

        $result = Test-ModelHash $Yolo -ErrorVariable errs -ErrorAction SilentlyContinue
        $ok = $?

        "$($result.Status)" | Should -Be 'Mismatch'
        $result.Expected | Should -Be $YoloSha
        $ok | Should -BeFalse
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'HashMismatch,ModelCache.PowerShell.Cmdlets.TestModelHashCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].ErrorDetails.RecommendedAction | Should -Match "Save-Model $([regex]::Escape($Yolo))"
        "$((Get-ModelCache $Yolo).LastCheck)" | Should -Be 'Failed'
    }

    It 'a model that is not cached is a ModelFileMissing error (ObjectNotFound)' {
        $result = Test-ModelHash $Yolo -ErrorVariable errs -ErrorAction SilentlyContinue
        "$($result.Status)" | Should -Be 'Missing'
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ModelFileMissing,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be $Yolo
    }

    It '-ErrorAction Stop turns a failure into a terminating error' {
        { Test-ModelHash $Yolo -ErrorAction Stop } | Should -Throw -ErrorId 'ModelFileMissing,ModelCache.PowerShell.Cmdlets.TestModelHashCommand'
    }

    It '-Quiet returns one Boolean and writes no error records' {
        $null = Save-Model $Yolo
        Test-ModelHash -Quiet | Should -BeExactly $true
        $missing = Test-ModelHash $Yolo, $Slim -Quiet -ErrorVariable errs
        $missing | Should -BeExactly $false
        @($missing).Count | Should -Be 1
        $errs.Count | Should -Be 0
    }

    It '-LiteralPath with -Sha256 checks any file against that hash' {
        $file = Join-Path $FixtureModels $YoloFile
        "$((Test-ModelHash -LiteralPath $file -Sha256 $YoloSha).Status)" | Should -Be 'Valid'
        $bad = Test-ModelHash -LiteralPath $file -Sha256 ('0' * 64) -ErrorVariable errs -ErrorAction SilentlyContinue
        "$($bad.Status)" | Should -Be 'Mismatch'
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
    }

    It 'a file the catalog does not know is Unknown with an ExpectedHashUnknown error' {
        $file = Join-Path $Sandbox.Root 'custom.onnx'
        Set-Content -LiteralPath $file -Value 'not a model'
        $result = Test-ModelHash -LiteralPath $file -ErrorVariable errs -ErrorAction SilentlyContinue
        "$($result.Status)" | Should -Be 'Unknown'
        $result.Actual | Should -Be (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ExpectedHashUnknown,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}
