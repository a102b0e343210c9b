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

        $result = Export-ModelCache -Path $zip

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

        $null = Get-ModelCache $Slim | Export-ModelCache -Path $folder

        @(Get-ChildItem -LiteralPath $folder -Name | Sort-Object) | Should -Be @('manifest.json', 'version-slim-320.onnx')
        $saved = Save-Model $Slim -CachePath (Join-Path $Sandbox.Root 'other') -Mirror $folder -MirrorOnly -Offline
        "$($saved.Source)" | Should -Be 'Mirror'
    }

    It 'stops with HashMismatch and writes nothing when a cached file is corrupt' {
        $path = (Get-ModelCache $Yolo).Path
        $bytes = [IO.File]::ReadAllBytes($path); $bytes[100] = $bytes[100] -bxor 1; [IO.File]::WriteAllBytes($path, $bytes)
        $zip = Join-Path $Sandbox.Root 'models.zip'

        { Export-ModelCache -Path $zip -ErrorAction Stop } | Should -Throw -ErrorId 'HashMismatch,*'

        Test-Path -LiteralPath $zip | Should -BeFalse
        Test-Path -LiteralPath "$zip.partial" | Should -BeFalse
    }

    It 'never writes over an existing file, and -WhatIf writes nothing' {
        $zip = Join-Path $Sandbox.Root 'models.zip'
        Set-Content -LiteralPath $zip -Value 'mine'

        { Export-ModelCache -Path $zip -ErrorAction Stop } | Should -Throw -ErrorId 'BundleDestinationExists,*'
        Get-Content -LiteralPath $zip | Should -Be 'mine'

        Export-ModelCache -Path (Join-Path $Sandbox.Root 'whatif.zip') -WhatIf
        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'whatif.zip') | Should -BeFalse
    }

    It 'creates missing folders on the way to a .zip (and to a folder bundle), and -WhatIf creates none' {
        $zip = Join-Path $Sandbox.Root 'new/deeper/models.zip'
        $folder = Join-Path $Sandbox.Root 'new2/deeper/bundle'

        Export-ModelCache -Path $zip -WhatIf
        Export-ModelCache -Path $folder -WhatIf
        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'new') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'new2') | Should -BeFalse

        $result = Export-ModelCache -Path $zip -ErrorAction Stop
        $result.Path | Should -Be $zip
        (Get-FileHash -LiteralPath $zip).Hash | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath "$zip.partial" | Should -BeFalse
        $null = Export-ModelCache -Path $folder -ErrorAction Stop
        Test-Path -LiteralPath (Join-Path $folder 'manifest.json') | Should -BeTrue
    }

    It 'removes the folders it created when the export stops' {
        $path = (Get-ModelCache $Yolo).Path
        $bytes = [IO.File]::ReadAllBytes($path); $bytes[100] = $bytes[100] -bxor 1; [IO.File]::WriteAllBytes($path, $bytes)

        { Export-ModelCache -Path (Join-Path $Sandbox.Root 'gone/models.zip') -ErrorAction Stop } | Should -Throw -ErrorId 'HashMismatch,*'

        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'gone') | Should -BeFalse
    }
}

Describe 'Import-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'import'
        $null = Save-Model $Yolo, $Slim
        $script:Zip = Join-Path $Sandbox.Root 'models.zip'
        $null = Export-ModelCache -Path $Zip
        $script:Target = Join-Path $Sandbox.Root 'target'
    }

    It 'imports every model, then skips them all on a second run' {
        $first = Import-ModelCache $Zip -CachePath $Target
        @($first | ForEach-Object { "$($_.Status)" }) | Should -Be @('Imported', 'Imported')
        $first | Get-TypeName | Select-Object -First 1 | Should -Be 'ModelCache.Bundles.ModelImportResult'
        Test-ModelHash -CachePath $Target -Quiet | Should -BeTrue

        $second = Import-ModelCache $Zip -CachePath $Target
        @($second | ForEach-Object { "$($_.Status)" }) | Should -Be @('Skipped', 'Skipped')
        ($second | Measure-Object Bytes -Sum).Sum | Should -Be 0
    }

    It 'a bundle whose model bytes were altered imports the rest and writes nothing unverified' {
        $folder = Join-Path $Sandbox.Root 'bundle-folder'
        $null = Export-ModelCache -Path $folder
        $file = Join-Path $folder $YoloFile
        $bytes = [IO.File]::ReadAllBytes($file); $bytes[500] = $bytes[500] -bxor 0xFF; [IO.File]::WriteAllBytes($file, $bytes)

        $results = Import-ModelCache $folder -CachePath $Target -ErrorVariable failures -ErrorAction SilentlyContinue

        "$(($results | Where-Object Name -EQ $Yolo).Status)" | Should -Be 'Failed'
        "$(($results | Where-Object Name -EQ $Slim).Status)" | Should -Be 'Imported'
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        @(Get-ChildItem -Recurse -File -LiteralPath (Join-Path $Target 'models') -Filter '*.onnx*').Name | Should -Not -Contain $YoloFile
        @(Get-ChildItem -Recurse -File -LiteralPath (Join-Path $Target 'models') -Filter '*.partial').Count | Should -Be 0
    }

    It 'a crafted ZIP with an entry outside its root is refused whole and nothing is written' {
        Add-Type -AssemblyName System.IO.Compression, System.IO.Compression.FileSystem
        $crafted = Join-Path $Sandbox.Root 'crafted.zip'
        Copy-Item $Zip $crafted
        $archive = [IO.Compression.ZipFile]::Open($crafted, 'Update')
        try {
            $entry = $archive.CreateEntry('../../escaped.onnx')
            $stream = $entry.Open(); $stream.WriteByte(1); $stream.Dispose()
        } finally { $archive.Dispose() }

        $results = Import-ModelCache $crafted -CachePath $Target -ErrorVariable refused -ErrorAction SilentlyContinue

        $results | Should -BeNullOrEmpty
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'BundleEntryRefused,*'
        $refused[0].Exception.Message | Should -BeLike '*escaped.onnx*'
        Test-Path -LiteralPath $Target | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $Sandbox.Root 'escaped.onnx') | Should -BeFalse
    }
}
