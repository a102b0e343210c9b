# The vocabulary's behaviour (issue 19, item 6): a layout a cmdlet cannot serve is refused with LayoutNotSupported,
# -Scope Process writes nothing, the settings file written is named, and piped entries keep their root and layout.
# The parameter names themselves are pinned by Parameters.Tests.ps1.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

Describe 'LayoutNotSupported' {
    BeforeEach { $script:Sandbox = Enter-ModelCacheSandbox }
    AfterEach { Exit-ModelCacheSandbox }

    It '<Cmdlet> -Layout <Layout> stops with LayoutNotSupported, naming the cmdlet and what to use instead' -ForEach @(
        @{ Cmdlet = 'Save-Model'; Layout = 'HuggingFace'; Run = { Save-Model $Yolo -Layout HuggingFace } }
        @{ Cmdlet = 'Import-Model'; Layout = 'HuggingFace'; Run = { Import-Model -Path (Join-Path $FixtureModels $YoloFile) -Name Mine/Model -Layout HuggingFace -Confirm:$false } }
        @{ Cmdlet = 'Move-ModelCache'; Layout = 'HuggingFace'; Run = { Move-ModelCache -Destination (Join-Path $Sandbox.Root 'moved') -Layout HuggingFace -Confirm:$false } }
        @{ Cmdlet = 'Optimize-ModelCache'; Layout = 'HuggingFace'; Run = { Optimize-ModelCache -Layout HuggingFace -Confirm:$false } }
        @{ Cmdlet = 'Set-ModelCacheEntry'; Layout = 'HuggingFace'; Run = { Set-ModelCacheEntry -Name $Yolo -Pinned $true -Layout HuggingFace -Confirm:$false } }
        @{ Cmdlet = 'Start-ModelCacheServer'; Layout = 'HuggingFace'; Run = { Start-ModelCacheServer -Layout HuggingFace -Port 0 } }
        @{ Cmdlet = 'Sync-ModelCache'; Layout = 'HuggingFace'; Run = { Sync-ModelCache (Join-Path $Sandbox.Root 'none.json') -Layout HuggingFace -Confirm:$false } }
        @{ Cmdlet = 'Test-ModelCache'; Layout = 'HuggingFace'; Run = { Test-ModelCache (Join-Path $Sandbox.Root 'none.json') -Layout HuggingFace } }
        @{ Cmdlet = 'Invoke-FaceDetect'; Layout = 'HuggingFace'; Run = { Invoke-FaceDetect -Path (Join-Path $FixtureImages 'portrait.jpg') -Layout HuggingFace } }
        @{ Cmdlet = 'Get-ModelCatalog'; Layout = 'HuggingFace'; Run = { Get-ModelCatalog -Layout HuggingFace } }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Layout = 'HuggingFace'; Run = { Get-ModelCacheLocation -Layout HuggingFace } }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Layout = 'Uniface'; Run = { Get-ModelCacheLocation -Name $Yolo -Layout Uniface } }
    ) {
        $failure = $null
        try { & $Run -ErrorAction Stop } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -BeLike 'LayoutNotSupported,*'
        $failure.Exception.Message | Should -BeLike "$Cmdlet -Layout $Layout*"
        $failure.ErrorDetails.RecommendedAction + $failure.CategoryInfo.Reason | Should -Not -BeNullOrEmpty
    }

    It 'Optimize-ModelCache refuses a piped hub file with LayoutNotSupported, not a parameter binding failure' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo 'org/model' -Commit ('a' * 40) -Files @{ 'model.onnx' = 'weights' }
        $hubFile = @(Get-ModelCache -Layout HuggingFace)[0]
        $hubFile | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubCacheEntry'
        $failure = $null
        try { $hubFile | Optimize-ModelCache -Confirm:$false -ErrorAction Stop } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -BeLike 'LayoutNotSupported,*'
        $failure.Exception.Message | Should -BeLike 'Optimize-ModelCache -Layout HuggingFace*'
        $failure.ErrorDetails.RecommendedAction + $failure.CategoryInfo.Reason | Should -Not -BeNullOrEmpty
    }

    It '<Cmdlet> refuses a piped hub file with LayoutNotSupported, not with a binding failure' -ForEach @(
        @{ Cmdlet = 'Move-ModelCache'; Run = { $HubFile | Move-ModelCache -Destination (Join-Path $Sandbox.Root 'moved') -Confirm:$false -ErrorAction Stop } }
        @{ Cmdlet = 'Set-ModelCacheEntry'; Run = { $HubFile | Set-ModelCacheEntry -Pinned $true -Confirm:$false -ErrorAction Stop } }
    ) {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/piped -Commit ('a' * 40) -Files @{ 'model.onnx' = 'hub bytes' } -Copy
        $script:HubFile = Get-ModelCache -Layout HuggingFace -Name acme/piped
        $HubFile | Should -Not -BeNullOrEmpty
        $failure = $null
        try { & $Run } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -BeLike 'LayoutNotSupported,*'
        $failure.Exception.Message | Should -BeLike "$Cmdlet -Layout HuggingFace*acme/piped*"
        $failure.ErrorDetails.RecommendedAction + $failure.CategoryInfo.Reason | Should -Not -BeNullOrEmpty
        Test-Path (Join-Path $Sandbox.Root 'moved') | Should -BeFalse
    }

    It 'Get-ModelCacheLocation -Layout Uniface names the uniface root' {
        (Get-ModelCacheLocation -Layout Uniface).Path | Should -Be $Sandbox.Uniface
        (Get-ModelCacheLocation -Layout Uniface -CachePath $Sandbox.Root).Path | Should -Be $Sandbox.Root
    }
}

Describe '-Scope' {
    BeforeEach { $script:Sandbox = Enter-ModelCacheSandbox }
    AfterEach { Exit-ModelCacheSandbox }

    BeforeAll {
        $script:UserSettings = { Join-Path $env:XDG_CONFIG_HOME 'modelcache/settings.json' }
    }

    It 'Set-ModelCacheLocation persists for the CurrentUser by default and says which file it wrote' {
        $root = Join-Path $Sandbox.Root 'persisted'
        $verbose = Set-ModelCacheLocation $root -Confirm:$false -Verbose 4>&1
        Test-Path (& $UserSettings) | Should -BeTrue
        (Get-Content -Raw (& $UserSettings)) | Should -BeLike "*$(Split-Path -Leaf $root)*"
        "$verbose" | Should -BeLike "*wrote CurrentUser settings file '$(& $UserSettings)'*"
        (Get-ModelCacheLocation).Source | Should -Be 'UserSetting'
        Set-ModelCacheLocation -Reset -Confirm:$false
    }

    It 'Set-ModelCacheQuota -Scope Process holds for this session and writes no settings file' {
        $verbose = Set-ModelCacheQuota -MaxSize 5MB -Scope Process -Verbose 4>&1
        Test-Path (& $UserSettings) | Should -BeFalse
        "$verbose" | Should -BeLike '*this session only*'
        $quota = Set-ModelCacheQuota -MaxSize 5MB -Scope Process -PassThru
        $quota.MaxSize | Should -Be 5MB
        $quota.Source | Should -Be 'Set-ModelCacheQuota -Scope Process'
        Set-ModelCacheQuota -Reset -Scope Process
        (Set-ModelCacheQuota -Reset -Scope Process -PassThru).MaxSize | Should -BeNullOrEmpty
    }

    It 'Set-ModelCacheQuota persists for the CurrentUser by default and says which file it wrote' {
        $verbose = Set-ModelCacheQuota -MaxSize 1GB -Confirm:$false -Verbose 4>&1
        "$verbose" | Should -BeLike "*wrote CurrentUser settings file '$(& $UserSettings)'*"
        (Set-ModelCacheQuota -MaxSize 1GB -PassThru).Source | Should -BeLike 'Set-ModelCacheQuota -Scope CurrentUser*'
    }

    It 'Register-ModelCatalog -Scope Process adds a catalog for this session only; Unregister-ModelCatalog -Scope Process removes it' {
        $catalog = New-ExampleCatalog -Path (Join-Path $Sandbox.Root 'fleet.json')
        Register-ModelCatalog -LiteralPath $catalog -Scope Process
        Test-Path (& $UserSettings) | Should -BeFalse
        $source = Get-ModelCatalog -Source | Where-Object Path -eq $catalog
        $source.Scope | Should -Be 'Process'
        Get-ModelCatalog 'RetinaFace/MNET_V2' | Should -Not -BeNullOrEmpty
        Unregister-ModelCatalog -Path $catalog -Scope Process -Confirm:$false
        Get-ModelCatalog -Source | Where-Object Path -eq $catalog | Should -BeNullOrEmpty
        { Unregister-ModelCatalog -Path $catalog -Scope Process -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'CatalogNotRegistered,*'
    }

    It 'Register-ModelCatalog registers for the CurrentUser by default, and a registered source pipes back to Unregister-ModelCatalog' {
        $catalog = New-ExampleCatalog -Path (Join-Path $Sandbox.Root 'fleet.json')
        $registered = Register-ModelCatalog -LiteralPath $catalog -PassThru -Confirm:$false
        $registered.Scope | Should -Be 'CurrentUser'
        (Get-Content -Raw (& $UserSettings)) | Should -BeLike '*fleet.json*'
        Get-ModelCatalog -Source | Where-Object Path -eq $catalog | Unregister-ModelCatalog -Confirm:$false
        Get-ModelCatalog -Source | Where-Object Path -eq $catalog | Should -BeNullOrEmpty
    }
}

Describe 'Files and pipelines' {
    BeforeEach { $script:Sandbox = Enter-ModelCacheSandbox }
    AfterEach { Exit-ModelCacheSandbox }

    It 'Test-ModelHash -Path expands wildcards as Get-Item does; -CachePath names the root' {
        $results = @(Test-ModelHash -Path (Join-Path $FixtureModels 'yolov8-lite-t-face.onn?'))
        $results.Count | Should -Be 1
        "$($results[0].Status)" | Should -Be 'Valid'
        $null = Save-Model $Yolo -CachePath $Sandbox.Root
        (Test-ModelHash $Yolo -CachePath $Sandbox.Root).Path | Should -BeLike "$($Sandbox.Root)*"
    }

    It 'Import-Model -Path takes the model file' {
        $file = Join-Path $Sandbox.Root 'mine.onnx'
        Copy-Item -LiteralPath (Join-Path $FixtureModels $YoloFile) -Destination $file
        $entry = Import-Model -Path (Join-Path $Sandbox.Root 'mine.onn?') -Name Mine/Yolo -Task face_detection -Confirm:$false
        $entry.Name | Should -Be 'Mine/Yolo'
    }

    It 'Export-ModelCache -Path writes the bundle and Import-ModelCache -Path x.zip reads it' {
        $null = Save-Model $Yolo
        $zip = Join-Path $Sandbox.Root 'models.zip'
        $null = Export-ModelCache -Path $zip
        Test-Path $zip | Should -BeTrue
        $other = Join-Path $Sandbox.Root 'other'
        $imported = @(Import-ModelCache -Path $zip -CachePath $other)
        "$($imported[0].Status)" | Should -Be 'Imported'
        Test-ModelHash $Yolo -CachePath $other -Quiet | Should -BeTrue
    }

    It 'Get-ModelCache -Layout Uniface | Export-ModelCache exports from the uniface root' {
        $null = Save-Model $Yolo -Layout Uniface
        @(Get-ModelCache).Count | Should -Be 0 -Because 'the native cache is empty'
        $zip = Join-Path $Sandbox.Root 'uniface.zip'
        $result = Get-ModelCache -Layout Uniface | Export-ModelCache -Path $zip
        Test-Path $zip | Should -BeTrue
        $imported = @(Import-ModelCache -Path $zip -CachePath (Join-Path $Sandbox.Root 'native'))
        $imported.Name | Should -Be $Yolo
    }

    It 'Get-ModelCache -Layout Uniface | Optimize-ModelCache optimizes the uniface root' {
        $null = Save-Model $Yolo -Layout Uniface
        $said = Get-ModelCache -Layout Uniface | Optimize-ModelCache -Confirm:$false -ErrorAction Stop 6>&1
        "$said" | Should -BeLike "*in '$($Sandbox.Uniface)'*"
        Test-ModelHash $Yolo -Layout Uniface -Quiet | Should -BeTrue
    }
}
