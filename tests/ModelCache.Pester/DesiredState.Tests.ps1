# Sync-ModelCache and Test-ModelCache -Manifest: a cache brought to a manifest's state, drift reported
# without changes, and a scheduled job's exit code in a real pwsh -File process.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    function New-Manifest([string] $Path, [object[]] $Models) {
        @{ formatVersion = 1; models = @($Models) } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $Path
        $Path
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Sync-ModelCache and Test-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'sync'
        $script:Manifest = New-Manifest (Join-Path $Sandbox.Root 'models.json') @($Yolo, $Slim)
    }

    It 'adds what is missing, then a second run changes nothing and transfers nothing' {
        Test-ModelCache $Manifest -ErrorAction SilentlyContinue | Should -BeFalse

        $first = Sync-ModelCache $Manifest
        $first.Added | Should -Be 2
        $first.BytesTransferred | Should -BeGreaterThan 0
        $first.InDesiredState | Should -BeFalse

        $second = Sync-ModelCache $Manifest
        $second.Unchanged | Should -Be 2
        $second.BytesTransferred | Should -Be 0
        $second.InDesiredState | Should -BeTrue
        Test-ModelCache $Manifest | Should -BeTrue
    }

    It 'reports drift (missing, corrupt, extra) as errors without changing anything, then repairs and prunes' {
        $null = Save-Model $Yolo, $Rfb
        $path = (Get-ModelCache $Yolo).Path
        $bytes = [IO.File]::ReadAllBytes($path); $bytes[10] = $bytes[10] -bxor 1; [IO.File]::WriteAllBytes($path, $bytes)
        $before = (Get-FileHash $path).Hash

        $ok = Test-ModelCache $Manifest -ErrorVariable drift -ErrorAction SilentlyContinue

        $ok | Should -BeFalse
        @($drift | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] } | Sort-Object) | Should -Be @('ModelCorrupt', 'ModelExtra', 'ModelMissing')
        (Get-FileHash $path).Hash | Should -Be $before
        @(Get-ModelCache).Count | Should -Be 2

        $summary = Sync-ModelCache $Manifest -Prune -Confirm:$false -WarningAction SilentlyContinue
        $summary.Repaired | Should -Be 1
        $summary.Added | Should -Be 1
        $summary.Removed | Should -Be 1
        @(Get-ModelCache).Name | Sort-Object | Should -Be @($Slim, $Yolo)
        Test-ModelCache $Manifest | Should -BeTrue
    }

    It 'Test-ModelCache -Detailed writes one drift object per model from the plan Sync executes' {
        $null = Save-Model $Yolo, $Rfb
        $path = (Get-ModelCache $Yolo).Path
        $bytes = [IO.File]::ReadAllBytes($path); $bytes[10] = $bytes[10] -bxor 1; [IO.File]::WriteAllBytes($path, $bytes)

        $drift = @(Test-ModelCache $Manifest -Detailed -ErrorVariable errors)

        $errors | Should -BeNullOrEmpty -Because '-Detailed reports drift as objects'
        $drift | ForEach-Object { $_.GetType().FullName } | Select-Object -Unique | Should -Be 'ModelCache.Sync.ModelDrift'
        $byName = @{}; $drift | ForEach-Object { $byName[$_.Name] = $_ }
        $drift.Count | Should -Be 3
        $byName[$Yolo].State | Should -Be 'Corrupt'
        $byName[$Yolo].Path | Should -Be $path
        $byName[$Yolo].Expected | Should -Be (Get-ModelCatalog $Yolo).Sha256
        $byName[$Yolo].Actual | Should -Be (Get-FileHash $path).Hash.ToLowerInvariant()
        $byName[$Yolo].Action | Should -Be 'Repair'
        $byName[$Slim].State | Should -Be 'Missing'
        $byName[$Slim].Actual | Should -BeNullOrEmpty
        $byName[$Slim].Action | Should -Be 'Save'
        $byName[$Rfb].State | Should -Be 'Extra'
        $byName[$Rfb].Action | Should -Be 'None'

        $null = Sync-ModelCache $Manifest -WarningAction SilentlyContinue
        @(Test-ModelCache $Manifest -Detailed | Where-Object State -ne 'Ok').Name | Should -Be @($Rfb)
        @(Test-ModelCache $Manifest -Detailed | Where-Object State -eq 'Ok').Count | Should -Be 2
    }

    It 'Test-ModelCache -IgnoreExtra does not count models the manifest does not list' {
        $null = Save-Model $Yolo, $Slim, $Rfb
        Test-ModelCache $Manifest -ErrorAction SilentlyContinue | Should -BeFalse
        Test-ModelCache $Manifest -IgnoreExtra -ErrorVariable errors | Should -BeTrue
        $errors | Should -BeNullOrEmpty
        @(Test-ModelCache $Manifest -IgnoreExtra -Detailed).State | Should -Be @('Ok', 'Ok')
    }

    It 'Sync-ModelCache -WhatIf confirms only the models that need a change' {
        $null = Save-Model $Yolo, $Rfb
        $script = Join-Path $Sandbox.Root 'whatif.ps1'
        Set-Content -LiteralPath $script -Value "Import-Module '$ModuleUnderTest'; `$null = Sync-ModelCache '$Manifest' -Prune -WhatIf"
        $child = Invoke-ChildPwsh $script
        $child.ExitCode | Should -Be 0
        $said = $child.Output -join "`n"
        $said | Should -Match 'What if: Performing the operation "Save or repair model"'
        $said | Should -Match 'What if: Performing the operation "Remove model not in the manifest"'
        $said | Should -Match ([regex]::Escape($Slim))
        $said | Should -Match ([regex]::Escape($Rfb))
        $said | Should -Not -Match ([regex]::Escape($Yolo))
        @(Get-ModelCache).Name | Sort-Object | Should -Be (@($Rfb, $Yolo) | Sort-Object)
    }

    It 'takes custom models as full catalog entries, from a .psd1 manifest' {
        $file = Join-Path $FixtureModels 'version-RFB-320.onnx'
        $psd1 = Join-Path $Sandbox.Root 'models.psd1'
        @"
@{
    FormatVersion = 1
    Models = @(
        '$Slim'
        @{ Family = 'Site'; Member = 'DETECTOR'; Task = 'face_detection'; FileName = 'version-RFB-320.onnx'
           Url = 'https://example.invalid/version-RFB-320.onnx'; Sha256 = '$((Get-FileHash $file).Hash.ToLowerInvariant())'; Size = $((Get-Item $file).Length) }
    )
}
"@ | Set-Content -LiteralPath $psd1

        $summary = Sync-ModelCache $psd1
        $summary.Added | Should -Be 2
        Test-ModelCache $psd1 | Should -BeTrue
    }

    # Import-PowerShellDataFile reads the first hashtable and ignores the rest, so such a file would read as data
    # while it looks like a script: refused whole, and nothing in it runs.
    It 'a .psd1 manifest with anything beside its one hashtable is refused (<Shape>)' -ForEach @(
        @{ Shape = 'a statement after it'; Text = "@{ FormatVersion = 1; Models = @('{0}') }`nSet-Content -LiteralPath '{1}' -Value ran" }
        @{ Shape = 'a command before it'; Text = "Set-Content -LiteralPath '{1}' -Value ran`n@{ FormatVersion = 1; Models = @('{0}') }" }
        @{ Shape = 'two hashtables'; Text = "@{ FormatVersion = 1; Models = @('{0}') }`n@{ FormatVersion = 1; Models = @() }" }
        @{ Shape = 'an expression after it'; Text = "@{ FormatVersion = 1; Models = @('{0}') }`n1 + 1" }
        @{ Shape = 'a pipeline around it'; Text = "@{ FormatVersion = 1; Models = @('{0}') } | Out-Null" }
        @{ Shape = 'a function beside it'; Text = "function f { Set-Content -LiteralPath '{1}' -Value ran }`n@{ FormatVersion = 1; Models = @('{0}') }" }
        @{ Shape = 'a param block'; Text = "param(`$x)`n@{ FormatVersion = 1; Models = @('{0}') }" }
        @{ Shape = 'no hashtable'; Text = "'{0}'" }
    ) {
        $marker = Join-Path $Sandbox.Root 'ran.txt'
        $psd1 = Join-Path $Sandbox.Root 'script.psd1'
        $Text.Replace('{0}', $Yolo).Replace('{1}', $marker) | Set-Content -LiteralPath $psd1

        foreach ($command in 'Sync-ModelCache', 'Test-ModelCache') {
            $err = $null
            try { & $command $psd1 -ErrorAction Stop } catch { $err = $_ }
            $err | Should -Not -BeNullOrEmpty -Because "$command must refuse it"
            ($err.FullyQualifiedErrorId -split ',')[0] | Should -Be 'SyncManifestInvalid'
            $err.Exception.Message | Should -Match 'script\.psd1'
        }
        Test-Path -LiteralPath $marker | Should -BeFalse
        @(Get-ModelCache).Count | Should -Be 0
    }

    It 'a .json manifest that writes a key twice is refused naming both lines' {
        $json = Join-Path $Sandbox.Root 'twice.json'
        "{`n  `"formatVersion`": 1,`n  `"models`": [ `"$Yolo`" ],`n  `"Models`": [ `"$Slim`" ]`n}" | Set-Content -LiteralPath $json
        $err = $null
        try { Sync-ModelCache $json -ErrorAction Stop } catch { $err = $_ }
        ($err.FullyQualifiedErrorId -split ',')[0] | Should -Be 'SyncManifestInvalid'
        $err.Exception.Message | Should -Match 'at line 3 and at line 4'
        @(Get-ModelCache).Count | Should -Be 0
    }

    It 'a .psd1 manifest with comments around its hashtable is read' {
        $psd1 = Join-Path $Sandbox.Root 'commented.psd1'
        "# models for the site`n@{`n    # detectors`n    FormatVersion = 1; Models = @('$Yolo')`n}`n# end" | Set-Content -LiteralPath $psd1
        (Sync-ModelCache $psd1).Added | Should -Be 1
    }

    It 'a manifest that names an unknown model stops with SyncManifestInvalid' {
        $bad = New-Manifest (Join-Path $Sandbox.Root 'bad.json') @('Nope/NOTHING')
        { Sync-ModelCache $bad -ErrorAction Stop } | Should -Throw -ErrorId 'SyncManifestInvalid,*'
    }

    It 'a scheduled job exits 0 when the sync succeeds and non-zero when it fails' {
        $job = Join-Path $Sandbox.Root 'job.ps1'
        @'
param($Module, $Manifest, $Mirror)
$ErrorActionPreference = 'Stop'
Import-Module $Module
$env:MODELCACHE_MIRROR = $Mirror
$summary = Sync-ModelCache -Manifest $Manifest
"SUMMARY added=$($summary.Added) failed=$($summary.Failed)"
'@ | Set-Content -LiteralPath $job
        $good = Invoke-ChildPwsh $job @($ModuleUnderTest, $Manifest, $FixtureModels)
        $good.ExitCode | Should -Be 0 -Because ($good.Output -join "`n")
        $good.Output | Should -Contain 'SUMMARY added=2 failed=0'

        $empty = Join-Path $Sandbox.Root 'empty-mirror'
        $null = New-Item -ItemType Directory $empty
        $other = New-Manifest (Join-Path $Sandbox.Root 'other.json') @($Rfb)
        $bad = Invoke-ChildPwsh $job @($ModuleUnderTest, $other, $empty)
        $bad.ExitCode | Should -Not -Be 0 -Because ($bad.Output -join "`n")
    }
}
