# A cache root copied from a stranger, as users see it through the cmdlets: planted states end in error
# records with ids of their own (never a raw .NET exception), nothing outside the root is touched, and
# the rest of the batch goes on. The store-level cases are in tests/ModelCache.Core.Tests/HostileCacheTests.cs.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'A hostile cache root' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hostile'
        $script:Outside = Join-Path $Sandbox.Root 'outside'
        $null = New-Item -ItemType Directory $Outside
        Set-Content -LiteralPath (Join-Path $Outside 'precious.onnx') -Value 'not yours'
    }

    It 'a folder where a model file should be fails that model with NotARegularFile, and the batch goes on' {
        $null = New-Item -ItemType Directory (Join-Path $Sandbox.Cache "models/YOLOv8Face/YOLOV8_LITE_T/$YoloFile")

        $saved = Save-Model $Yolo, $Slim -ErrorVariable failures -ErrorAction SilentlyContinue

        @($saved.Name) | Should -Be @($Slim)
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'NotARegularFile,*'
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $failures[0].Exception.GetType().FullName | Should -Be 'ModelCache.Errors.ModelCacheException'
        $failures[0].Exception.Message | Should -BeLike "*$Yolo*"
        $failures[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'an entry.json that names a file outside the root leads Clear-ModelCache to the model''s own file only' {
        $entry = Save-Model $Yolo
        $metadataPath = Join-Path (Split-Path $entry.Path) 'entry.json'
        $metadata = Get-Content -Raw $metadataPath | ConvertFrom-Json
        $metadata.fileName = '../../../../outside/precious.onnx'
        $metadata.family = '../../../outside'
        $metadata | ConvertTo-Json | Set-Content -LiteralPath $metadataPath

        $listed = Get-ModelCache -ErrorVariable distrust -ErrorAction SilentlyContinue
        $listed.Path | Should -Be $entry.Path
        $distrust | Should -HaveCount 1
        $distrust[0].FullyQualifiedErrorId | Should -BeLike 'CacheMetadataInvalid,*'
        $distrust[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $distrust[0].Exception.Message | Should -BeLike "*$metadataPath*"
        $distrust[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Get-ModelCache -ErrorVariable again -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty
        $again | Should -BeNullOrEmpty -Because 'the metadata was rebuilt from the file by the first listing'
        $listed | Clear-ModelCache -Confirm:$false

        Get-Content -LiteralPath (Join-Path $Outside 'precious.onnx') | Should -Be 'not yours'
        Test-Path -LiteralPath $entry.Path | Should -BeFalse
        @(Get-ChildItem -LiteralPath $Sandbox.Root -Name) | Should -Not -Contain 'locks'
    }

    It 'a family folder that links out of the root is not listed, cleared or saved through' -Skip:$IsWindows {
        $null = New-Item -ItemType Directory (Join-Path $Sandbox.Cache 'models')
        $null = New-Item -ItemType Directory (Join-Path $Outside 'YOLOV8_LITE_T')
        Copy-Item (Join-Path $FixtureModels $YoloFile) (Join-Path $Outside "YOLOV8_LITE_T/$YoloFile")
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $Sandbox.Cache 'models/YOLOv8Face') -Target $Outside

        Get-ModelCache -ErrorVariable skipped -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $skipped | Should -HaveCount 1
        $skipped[0].FullyQualifiedErrorId | Should -BeLike 'CacheFolderIsLink,*'
        $skipped[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $skipped[0].Exception.Message | Should -BeLike '*YOLOv8Face*'
        Clear-ModelCache -All -Confirm:$false -ErrorAction SilentlyContinue
        { Save-Model $Yolo -ErrorAction Stop } | Should -Throw -ErrorId 'CacheFolderIsLink,*'

        Test-Path (Join-Path $Outside "YOLOV8_LITE_T/$YoloFile") | Should -BeTrue
        Test-Path (Join-Path $Outside 'YOLOV8_LITE_T/entry.json') | Should -BeFalse
        Get-Content -LiteralPath (Join-Path $Outside 'precious.onnx') | Should -Be 'not yours'
    }
}
