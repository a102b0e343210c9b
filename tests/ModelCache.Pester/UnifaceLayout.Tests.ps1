# The uniface layout as users see it: a flat folder of files under uniface's cache file names
# ($env:UNIFACE_CACHE_DIR by default), with ModelCache's own metadata and locks kept outside it.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Save-Model -Layout Uniface' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'uniface'
    }

    It 'saves into $env:UNIFACE_CACHE_DIR under the cache file name and leaves nothing else there' {
        $saved = Save-Model $Yolo, $Slim -Layout Uniface

        @($saved.Path | Sort-Object) | Should -Be @((Join-Path $Sandbox.Uniface 'version-slim-320.onnx'), (Join-Path $Sandbox.Uniface $YoloFile))
        @($saved | ForEach-Object { "$($_.Layout)" }) | Should -Be @('Uniface', 'Uniface')
        @(Get-ChildItem -LiteralPath $Sandbox.Uniface -Force -Name | Sort-Object) | Should -Be @('version-slim-320.onnx', $YoloFile)
        Test-Path -LiteralPath $Sandbox.Cache | Should -BeFalse -Because 'the native cache is not touched'
        $state = @(Get-ChildItem -Recurse -File -LiteralPath (Join-Path $Sandbox.Config 'modelcache/layouts'))
        $state.Name | Should -Contain 'YOLOV8_LITE_T.json'
    }

    It 'a second save uses the valid file without any transfer' {
        $null = Save-Model $Yolo -Layout Uniface
        $again = Save-Model $Yolo -Layout Uniface
        "$($again.Source)" | Should -Be 'Cache'
        $again.Transfer.BytesTransferred | Should -Be 0
    }

    It 'refuses to write the native layout into a uniface folder, and the uniface layout into a native cache' {
        $null = Save-Model $Yolo -Layout Uniface
        { Save-Model $Slim -CachePath $Sandbox.Uniface -ErrorAction Stop } | Should -Throw -ErrorId 'CacheRootIsForeignLayout,*'

        $null = Save-Model $Slim
        $err = { Save-Model $Slim -Layout Uniface -CachePath $Sandbox.Cache -ErrorAction Stop } | Should -Throw -ErrorId 'CacheRootIsForeignLayout,*' -PassThru
        $err.ErrorDetails.RecommendedAction | Should -Match '-Layout'
        Test-Path -LiteralPath (Join-Path $Sandbox.Cache 'version-slim-320.onnx') | Should -BeFalse
    }

    It 'a uniface folder is a mirror for the native layout, offline' {
        $null = Save-Model $Yolo -Layout Uniface

        $imported = Save-Model $Yolo -Mirror $Sandbox.Uniface -MirrorOnly -Offline

        "$($imported.Source)" | Should -Be 'Mirror'
        "$($imported.Layout)" | Should -Be 'Native'
        $imported.Path | Should -BeLike (Join-Path $Sandbox.Cache '*')
    }
}

Describe 'Listing, checking and clearing a uniface folder' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'uniface-list'
        $null = New-Item -ItemType Directory $Sandbox.Uniface
        # Files as uniface itself leaves them: no metadata anywhere.
        Copy-Item (Join-Path $FixtureModels $YoloFile) $Sandbox.Uniface
        Copy-Item (Join-Path $FixtureModels 'version-slim-320.onnx') $Sandbox.Uniface
        Set-Content -LiteralPath (Join-Path $Sandbox.Uniface 'notes.onnx') -Value 'a file of uniface''s own'
    }

    It 'lists catalog files (hashed once, then from metadata) and an unknown file as an orphan' {
        $listed = Get-ModelCache -Layout Uniface

        @($listed.Name) | Should -Be @('notes.onnx', $Slim, $Yolo)
        $orphan = $listed | Where-Object Name -EQ 'notes.onnx'
        $orphan.InCatalog | Should -BeFalse
        "$($orphan.LastCheck)" | Should -Be 'NotChecked'
        "$(($listed | Where-Object Name -EQ $Yolo).LastCheck)" | Should -Be 'Passed'
        @(Get-ChildItem -LiteralPath $Sandbox.Uniface -Force -Name).Count | Should -Be 3 -Because 'metadata lives outside the uniface folder'
    }

    It 'Test-ModelHash checks the whole folder, and piped entries, against the catalog' {
        $results = Test-ModelHash -Layout Uniface -ErrorVariable problems -ErrorAction SilentlyContinue
        @($results | Where-Object Status -EQ 'Valid').Count | Should -Be 2

        $bytes = [IO.File]::ReadAllBytes((Join-Path $Sandbox.Uniface $YoloFile))
        $bytes[1000] = $bytes[1000] -bxor 0xFF
        [IO.File]::WriteAllBytes((Join-Path $Sandbox.Uniface $YoloFile), $bytes)

        $piped = Get-ModelCache $Yolo -Layout Uniface | Test-ModelHash -ErrorVariable mismatch -ErrorAction SilentlyContinue
        "$($piped.Status)" | Should -Be 'Mismatch'
        $mismatch[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        Test-ModelHash $Yolo -Layout Uniface -Quiet -ErrorAction SilentlyContinue | Should -BeFalse
        Test-ModelHash $Slim -Layout Uniface -Quiet | Should -BeTrue
    }

    It 'Clear-ModelCache -All removes catalog files only; an orphan goes only when named' {
        Clear-ModelCache -Layout Uniface -All -Confirm:$false

        @(Get-ChildItem -LiteralPath $Sandbox.Uniface -Name) | Should -Be @('notes.onnx')

        Clear-ModelCache notes.onnx -Layout Uniface -Confirm:$false
        @(Get-ChildItem -LiteralPath $Sandbox.Uniface -Name) | Should -BeNullOrEmpty
    }

    It 'a file linked out of the folder is skipped with an error and never removed through' -Skip:$IsWindows {
        $outside = Join-Path $Sandbox.Root 'outside'
        $null = New-Item -ItemType Directory $outside
        Move-Item (Join-Path $Sandbox.Uniface 'version-slim-320.onnx') $outside
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $Sandbox.Uniface 'version-slim-320.onnx') -Target (Join-Path $outside 'version-slim-320.onnx')

        $listed = Get-ModelCache -Layout Uniface -ErrorVariable skipped -ErrorAction SilentlyContinue
        @($listed.Name) | Should -Not -Contain $Slim
        $skipped[0].FullyQualifiedErrorId | Should -BeLike 'CacheFolderIsLink,*'

        Clear-ModelCache -Layout Uniface -All -Confirm:$false -ErrorAction SilentlyContinue
        { Save-Model $Slim -Layout Uniface -ErrorAction Stop } | Should -Throw -ErrorId 'CacheFolderIsLink,*'
        Test-Path -LiteralPath (Join-Path $outside 'version-slim-320.onnx') | Should -BeTrue
    }
}
