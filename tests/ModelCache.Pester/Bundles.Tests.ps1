# Export-ModelCache as users see it: a bundle whose manifest hash can be checked out of band, written
# only when every file verifies, never over an existing file.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Export-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'bundle'
        $null = Save-Model $Yolo, $Slim
    }

    It 'writes a ZIP whose manifest hashes to the SHA-256 it reports, and which Expand-Archive reads' {
        $zip = Join-Path $Sandbox.Root 'models.zip'

        $result = Export-ModelCache -DestinationPath $zip

        $result | Get-TypeName | Should -Be 'ModelCache.Bundles.BundleExportResult'
        @($result.Models | Sort-Object) | Should -Be @($Slim, $Yolo)
        $expanded = Join-Path $Sandbox.Root 'expanded'
        Expand-Archive -LiteralPath $zip -DestinationPath $expanded
        (Get-FileHash (Join-Path $expanded 'manifest.json') -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $result.ManifestSha256
        (Get-FileHash (Join-Path $expanded $YoloFile) -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $YoloSha
        $manifest = Get-Content -Raw (Join-Path $expanded 'manifest.json') | ConvertFrom-Json
        $manifest.formatVersion | Should -Be 1
        ($manifest.models | Where-Object name -EQ $Yolo).size | Should -Be $YoloSize
    }

    It 'exports the names piped from Get-ModelCache into a folder that serves as a mirror' {
        $folder = Join-Path $Sandbox.Root 'bundle'

        $null = Get-ModelCache $Slim | Export-ModelCache -DestinationPath $folder

        @(Get-ChildItem -LiteralPath $folder -Name | Sort-Object) | Should -Be @('manifest.json', 'version-slim-320.onnx')
        $saved = Save-Model $Slim -Path (Join-Path $Sandbox.Root 'other') -Mirror $folder -MirrorOnly -Offline
        "$($saved.Source)" | Should -Be 'Mirror'
    }

    It 'stops with HashMismatch and writes nothing when a cached file is corrupt' {
        $path = (Get-ModelCache $Yolo).Path
        $bytes = [IO.File]::ReadAllBytes($path); $bytes[100] = $bytes[100] -bxor 1; [IO.File]::WriteAllBytes($path, $bytes)
        $zip = Join-Path $Sandbox.Root 'models.zip'

        { Export-ModelCache -DestinationPath $zip -ErrorAction Stop } | Should -Throw -ErrorId 'HashMismatch,*'

        Test-Path -LiteralPath $zip | Should -BeFalse
        Test-Path -LiteralPath "$zip.partial" | Should -BeFalse
    }

    It 'never writes over an existing file, and -WhatIf writes nothing' {
        $zip = Join-Path $Sandbox.Root 'models.zip'
        Set-Content -LiteralPath $zip -Value 'mine'

        { Export-ModelCache -DestinationPath $zip -ErrorAction Stop } | Should -Throw -ErrorId 'BundleDestinationExists,*'
        Get-Content -LiteralPath $zip | Should -Be 'mine'

        Export-ModelCache -DestinationPath (Join-Path $Sandbox.Root 'whatif.zip') -WhatIf
        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'whatif.zip') | Should -BeFalse
    }
}
