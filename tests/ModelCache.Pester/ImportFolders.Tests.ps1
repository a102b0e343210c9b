# Import-ModelCache over folders that are not bundles (uniface's cache, a plain folder of renamed files, a
# copied cache root) and bundles that carry a model the other machine's catalog does not know.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    function Get-Statuses([object[]] $Results) { @($Results | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Status)" }) }
    function Get-Sha([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Import-ModelCache from a folder of model files' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'import-folder'
        $script:Target = Join-Path $Sandbox.Root 'target'
        $script:SlimFile = (Get-ModelCatalog $Slim).FileName
    }

    It 'imports a uniface folder by file name, then skips it' {
        $null = Save-Model $Yolo, $Slim -Layout Uniface

        $first = Import-ModelCache $Sandbox.Uniface -CachePath $Target

        Get-Statuses $first | Should -Be @("$Slim=Imported", "$Yolo=Imported")
        ($first | Where-Object Name -EQ $Yolo).Source | Should -Be (Join-Path $Sandbox.Uniface $YoloFile)
        Test-ModelHash -CachePath $Target -Quiet | Should -BeTrue
        Get-Statuses (Import-ModelCache $Sandbox.Uniface -CachePath $Target) | Should -Be @("$Slim=Skipped", "$Yolo=Skipped")
    }

    It 'imports renamed files by their SHA-256 under the catalog names and reports the files it does not know' {
        $plain = New-Item -ItemType Directory -Path (Join-Path $Sandbox.Root 'usb')
        Copy-Item (Join-Path $FixtureModels $YoloFile) (Join-Path $plain 'detector-backup.bin')
        Copy-Item (Join-Path $FixtureModels $SlimFile) (Join-Path $plain 'slim (copy).onnx')
        Set-Content -LiteralPath (Join-Path $plain 'readme.txt') -Value 'not a model'

        $results = Import-ModelCache $plain -CachePath $Target -WarningVariable warned -WarningAction SilentlyContinue -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        Get-Statuses $results | Should -Be @("$Slim=Imported", "$Yolo=Imported")
        Get-Sha (Get-ModelCache $Yolo -CachePath $Target).Path | Should -Be $YoloSha
        Split-Path -Leaf (Get-ModelCache $Yolo -CachePath $Target).Path | Should -Be $YoloFile
        "$warned" | Should -BeLike '*1 files*match no catalog model*'
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and "$_" -like '*readme.txt*not imported*' }).Count | Should -Be 1
    }

    It 'imports a copied cache root by its bytes, whatever its entry.json files say' {
        $null = Save-Model $Yolo, $Slim
        $copy = Join-Path $Sandbox.Root 'copied-root'
        Copy-Item -Recurse -LiteralPath $Sandbox.Cache -Destination $copy
        Get-ChildItem -LiteralPath (Join-Path $copy 'models') -Recurse -Filter entry.json | ForEach-Object {
            Set-Content -LiteralPath $_.FullName -Value ('{"fileName": "../../../../etc/passwd", "sha256": "' + ('0' * 64) + '", "lastCheck": "Passed"}')
        }
        $slimCopy = Get-ChildItem -LiteralPath $copy -Recurse -Filter $SlimFile
        $bytes = [IO.File]::ReadAllBytes($slimCopy.FullName); $bytes[200] = $bytes[200] -bxor 1; [IO.File]::WriteAllBytes($slimCopy.FullName, $bytes)

        $results = Import-ModelCache $copy -CachePath $Target -ErrorVariable failures -ErrorAction SilentlyContinue

        Get-Statuses $results | Should -Be @("$Slim=Failed", "$Yolo=Imported")
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        @(Get-ModelCache -CachePath $Target).Name | Should -Be @($Yolo)
        @(Get-ChildItem -Recurse -File -LiteralPath $Target -Filter '*.partial').Count | Should -Be 0
    }

    It 'does not follow a link out of the folder, and fails a file named like a model that holds other bytes' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $Sandbox.Root 'hostile')
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $folder $SlimFile) -Target (Join-Path $FixtureModels $SlimFile)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $FixtureModels $YoloFile)); $bytes[1000] = $bytes[1000] -bxor 0xFF
        [IO.File]::WriteAllBytes((Join-Path $folder $YoloFile), $bytes)

        $results = Import-ModelCache $folder -CachePath $Target -ErrorVariable failures -ErrorAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue

        Get-Statuses $results | Should -Be @("$Yolo=Failed")
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        "$warned" | Should -BeLike "*$SlimFile*is a link*"
        @(Get-ChildItem -Recurse -File -LiteralPath $Target -Filter '*.onnx*').Count | Should -Be 0
    }

    It 'a static mirror written by Export-ModelCache -AsMirror imports like a bundle' {
        $null = Save-Model $Yolo
        $mirror = Join-Path $Sandbox.Root 'mirror'
        $null = Export-ModelCache -AsMirror -Path $mirror

        $results = Import-ModelCache $mirror -CachePath $Target -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        Get-Statuses $results | Should -Be @("$Yolo=Imported")
        "$($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })" | Should -BeLike '*manifest SHA-256*'
    }
}

Describe 'Import-ModelCache of a model the catalog does not know' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'import-custom'
        $script:Custom = 'Site/SLIM_COPY'
        $slim = Get-ModelCatalog $Slim
        # A site model: UltraFace slim's bytes under a name of the site's own, served from a folder of its own.
        $script:Served = New-Item -ItemType Directory -Path (Join-Path $Sandbox.Root 'site-mirror')
        Copy-Item (Join-Path $FixtureModels $slim.FileName) (Join-Path $Served 'site-slim.onnx')
        $script:SiteCatalog = Join-Path $Sandbox.Root 'site-catalog.json'
        @{ models = @(@{ family = 'Site'; member = 'SLIM_COPY'; task = 'face_detection'; fileName = 'site-slim.onnx'
                    url = 'https://models.example.invalid/site-slim.onnx'; sha256 = $slim.Sha256; size = $slim.Size; license = 'internal' }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $SiteCatalog
        $null = Save-Model $Custom -CatalogPath $SiteCatalog -Mirror $Served
        $script:Bundle = Join-Path $Sandbox.Root 'site'
        $null = Export-ModelCache -Name $Custom -CatalogPath $SiteCatalog -Path $Bundle

        # The second machine: its own settings folder and cache root, no site catalog.
        $script:Second = Join-Path $Sandbox.Root 'second'
        $env:XDG_CONFIG_HOME = Join-Path $Second 'config'
        $env:MODELCACHE_HOME = Join-Path $Second 'cache'
        $script:UserCatalog = Join-Path $env:XDG_CONFIG_HOME 'modelcache/catalog.json'
    }

    It 'carries the catalog entry, writes it to the user catalog and the model stays usable by name' {
        $manifest = Get-Content -Raw (Join-Path $Bundle 'manifest.json') | ConvertFrom-Json
        $manifest.models[0].catalogEntry.fileName | Should -Be 'site-slim.onnx'

        Import-ModelCache $Bundle -WhatIf
        Test-Path -LiteralPath $UserCatalog | Should -BeFalse

        Get-Statuses (Import-ModelCache $Bundle) | Should -Be @("$Custom=Imported")

        (Get-Content -Raw $UserCatalog | ConvertFrom-Json).models.member | Should -Be @('SLIM_COPY')
        "$((Test-ModelHash $Custom).Status)" | Should -Be 'Valid'
        (Get-ModelCache $Custom).Name | Should -Be $Custom
        "$((Save-Model $Custom).Source)" | Should -Be 'Cache'
        (Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'portrait.jpg') -Model $Custom).Model | Should -BeLike "*$Custom*"
        Get-Statuses (Import-ModelCache $Bundle) | Should -Be @("$Custom=Skipped")
    }

    It 'refuses a carried entry with a path for a file name, or the name of a built-in model with another hash, and writes nothing' {
        $manifestPath = Join-Path $Bundle 'manifest.json'
        $original = Get-Content -Raw $manifestPath
        $cases = @(
            @{ Edit = { param($m) $m.models[0].catalogEntry.fileName = '../x.onnx' }; Why = '*catalogEntry of ''Site/SLIM_COPY''*plain file name*' }
            @{ Edit = { param($m) $m.models[0].name = $Yolo; $m.models[0].catalogEntry.family = 'YOLOv8Face'; $m.models[0].catalogEntry.member = 'YOLOV8_LITE_T' }; Why = "*$Yolo*local catalog wins*" }
        )
        foreach ($case in $cases) {
            $manifest = $original | ConvertFrom-Json
            & $case.Edit $manifest
            $manifest | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $manifestPath

            $results = Import-ModelCache $Bundle -ErrorVariable refused -ErrorAction SilentlyContinue

            $results | Should -BeNullOrEmpty
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'BundleManifestInvalid,*'
            $refused[0].Exception.Message | Should -BeLike $case.Why
            Test-Path -LiteralPath $UserCatalog | Should -BeFalse
            Test-Path -LiteralPath $env:MODELCACHE_HOME | Should -BeFalse
        }
    }

    It 'refuses a carried entry whose task is <Task>, not one of the catalog''s tasks, and writes nothing to catalog.json' -ForEach @(
        @{ Task = '../../x' }, @{ Task = 'x/../face_detection' }, @{ Task = 'FaceDetection' }, @{ Task = 'face detection' }
    ) {
        $manifestPath = Join-Path $Bundle 'manifest.json'
        $manifest = Get-Content -Raw $manifestPath | ConvertFrom-Json
        $manifest.models[0].catalogEntry.task = $Task
        $manifest | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $manifestPath

        $results = Import-ModelCache $Bundle -ErrorVariable refused -ErrorAction SilentlyContinue

        $results | Should -BeNullOrEmpty
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'BundleManifestInvalid,*'
        $refused[0].Exception.Message | Should -BeLike "*catalogEntry of 'Site/SLIM_COPY' has the task '$Task'*face_detection*"
        Test-Path -LiteralPath $UserCatalog | Should -BeFalse
        Test-Path -LiteralPath $env:MODELCACHE_HOME | Should -BeFalse
    }

    It 'keeps no catalog entry for a carried model whose bytes fail, and places nothing' {
        # The manifest and its entry agree with each other; the file in the bundle does not.
        $file = Join-Path $Bundle 'site-slim.onnx'
        $bytes = [IO.File]::ReadAllBytes($file); $bytes[2000] = $bytes[2000] -bxor 0x01; [IO.File]::WriteAllBytes($file, $bytes)

        $results = Import-ModelCache $Bundle -ErrorVariable failed -ErrorAction SilentlyContinue

        Get-Statuses $results | Should -Be @("$Custom=Failed")
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        Test-Path -LiteralPath $UserCatalog | Should -BeFalse
        @(Get-ChildItem -Recurse -File -LiteralPath $env:MODELCACHE_HOME -Filter '*.onnx' -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}
