# Default table views at 80 columns: the key columns keep their headers and whole values.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'views'

    # Formats like a console 80 columns wide; returns the non-empty lines.
    function Format-At80 {
        param([Parameter(ValueFromPipeline)] $InputObject)
        begin { $items = [System.Collections.Generic.List[object]]::new() }
        process { $items.Add($InputObject) }
        end { ($items | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() } }
    }

    function Assert-Table {
        param([string[]] $Lines, [string[]] $Headers, [string[]] $Values)
        $Lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $headerWords = $Lines[0] -split '\s+' | Where-Object { $_ }
        foreach ($header in $Headers) { $headerWords | Should -Contain $header }
        $body = $Lines | Select-Object -Skip 2
        foreach ($value in $Values) {
            @($body | Where-Object { $_ -match "(^|\s)$([regex]::Escape($value))(\s|$)" }).Count | Should -BeGreaterThan 0 -Because "'$value' should be shown whole in:`n$($Lines -join "`n")"
        }
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Default views at 80 columns' {
    It 'Get-ModelCatalog shows every Name whole, with Task, Size, Default and Cached' {
        $catalog = Get-ModelCatalog
        $lines = $catalog | Format-At80
        Assert-Table $lines -Headers Name, Task, Size, Default, Cached -Values $catalog.Name
    }

    It 'Save-Model shows Name, Task, Size, Source and Time whole' {
        $lines = Save-Model $Yolo, 'RetinaFace/MNET_025_BIUBUG6' | Format-At80
        Assert-Table $lines -Headers Name, Task, Size, Source, Time -Values $Yolo, 'RetinaFace/MNET_025_BIUBUG6', 'face_detection', 'Mirror'
        $lines | Select-Object -Skip 2 | ForEach-Object { $_ | Should -Match '\d(\.\d)? [KMG]iB\s' -Because 'sizes read in binary units' }
        $lines | Select-Object -Skip 2 | ForEach-Object { $_ | Should -Match '\d+(\.\d)? (ms|s)$' -Because 'times read as a duration' }
    }

    It 'Get-ModelCache shows Name, Task, Size, LastCheck and LastUsed whole, and no column left blank' {
        $entries = @(Get-ModelCache)
        $lines = $entries | Format-At80
        Assert-Table $lines -Headers Name, Task, Size, LastCheck, LastUsed -Values $Yolo, 'RetinaFace/MNET_025_BIUBUG6', 'face_detection', 'Passed', $entries[0].LastUsed.LocalDateTime.ToString('yyyy-MM-dd')
        $lines[0] | Should -Not -Match 'Source' -Because 'a listing has no transfer, so a Source column would always be blank'
    }

    It 'Test-ModelHash shows Status and Name whole' {
        $null = Save-Model $Yolo
        $lines = Test-ModelHash $Yolo | Format-At80
        Assert-Table $lines -Headers Status, Name, Actual -Values 'Valid', $Yolo
    }

    It 'Get-ModelCacheLocation shows Source and Path whole' {
        $lines = Get-ModelCacheLocation -CachePath /srv/models | Format-At80
        Assert-Table $lines -Headers Source, Path -Values 'Parameter', '/srv/models'
    }

    It 'Invoke-FaceDetect shows FaceCount and Model whole' {
        $lines = Invoke-FaceDetect (Join-Path $FixtureImages 'portrait.jpg') -Model $Slim | Format-At80
        Assert-Table $lines -Headers Path, FaceCount, Model -Values '1', $Slim
    }

    It 'Invoke-FaceDetect -AsFace shows Confidence and the box' {
        $face = Invoke-FaceDetect (Join-Path $FixtureImages 'portrait.jpg') -Model $Slim -AsFace
        $lines = $face | Format-At80
        Assert-Table $lines -Headers Confidence, X, Y, Width, Height -Values ('{0:0.000}' -f $face.Confidence), ('{0:0}' -f $face.BoundingBox.Width)
    }
}

# Every table view in the module's format files, from paths a deep clone or a deep home gives: a cache root, an image
# folder, bundles and catalogs at least 150 characters long. A new table view without a sample here fails the run.
BeforeDiscovery {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $formatFiles = @(Get-Module ModelCache | ForEach-Object ExportedFormatFiles)
    $script:TableViews = @(foreach ($file in $formatFiles) {
        foreach ($view in ([xml](Get-Content -Raw -LiteralPath $file)).SelectNodes('/Configuration/ViewDefinitions/View[TableControl]')) {
            foreach ($type in $view.SelectNodes('ViewSelectedBy/TypeName')) {
                @{ View = $view.SelectSingleNode('Name').InnerText; TypeName = $type.InnerText.Trim(); File = Split-Path -Leaf $file }
            }
        }
    })
}

Describe 'Every table view at 80 columns from 150-character paths' {
    BeforeAll {
        # Several folders, so the root is long however short $TestDrive is.
        $deep = (1..4 | ForEach-Object { "a-folder-name-of-forty-characters-no-$_" }) -join '/'
        $script:Long = Enter-ModelCacheSandbox "$deep/views"
        $Long.Cache.Length | Should -BeGreaterOrEqual 150
        $photos = Join-Path $Long.Root 'photos of the team offsite in the mountains'
        $null = New-Item -ItemType Directory -Path $photos
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg'), (Join-Path $FixtureImages 'zidane.jpg') -Destination $photos
        $portrait = Join-Path $photos 'portrait.jpg'
        $portrait.Length | Should -BeGreaterOrEqual 150

        # Per type: objects from the cmdlets, the headers a reader needs, and values that must be shown whole (a path
        # column shows at least its file name, after a leading '…' and separator when the path is cut).
        $script:Samples = @{}
        function Add-Sample([string] $TypeName, [object[]] $Objects, [string[]] $Headers, [string[]] $Values, [string] $PathProperty) {
            $Objects | Get-TypeName | Select-Object -Unique | Should -Be $TypeName
            $script:Samples[$TypeName] = @{ Objects = $Objects; Headers = $Headers; Values = $Values; PathProperty = $PathProperty }
        }

        $catalogPath = Join-Path $Long.Root 'fleet catalog.json'
        @{ models = @(@{ family = 'Fleet'; member = 'SLIM'; task = 'face_detection'; fileName = 'version-slim-320.onnx'; sha256 = (Get-ModelCatalog $Slim).Sha256 }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $catalogPath
        $catalog = @(Get-ModelCatalog)
        Add-Sample 'ModelCache.Catalog.ModelCatalogEntry' $catalog -Headers Name, Task, Size, Default, Cached -Values $catalog.Name
        $sources = @(Get-ModelCatalog -Source -CatalogPath $catalogPath)
        Add-Sample 'ModelCache.Catalog.ModelCatalogSource' $sources -Headers Order, Kind, Scope, Models, Loaded, Path -Values 'fleet catalog.json', 'built-in' -PathProperty Path

        $saved = @(Save-Model $Yolo, $Slim -ErrorAction Stop)
        Add-Sample 'ModelCache.Store.ModelCacheEntry#Saved' $saved -Headers Name, Task, Size, Source, Time -Values $Yolo, $Slim, 'face_detection', 'Mirror' -PathProperty Path
        $listed = @(Get-ModelCache)
        Add-Sample 'ModelCache.Store.ModelCacheEntry' $listed -Headers Name, Task, Size, LastCheck, LastUsed -Values $Yolo, $Slim, 'face_detection', 'Passed' -PathProperty Path
        $summary = Get-ModelCache -Summary
        $script:Lists = @{ 'ModelCache.Store.CacheSummary' = @($summary) }
        Add-Sample 'ModelCache.Store.CacheBreakdown' @($summary.Breakdown) -Headers Group, Name, Models, Size -Values 'Task', 'face_detection', 'Family', 'UltraFace', ($Yolo -split '/')[0]
        $checked = @(Test-ModelHash $Yolo, $Slim)
        Add-Sample 'ModelCache.Integrity.ModelHashResult' $checked -Headers Status, Name, Actual, Path -Values 'Valid', $Yolo, $Slim, 'version-slim-320.onnx', $YoloFile -PathProperty Path
        $locations = @(Get-ModelCacheLocation) + @(Get-ModelCacheLocation -Name $Yolo)
        Add-Sample 'ModelCache.Locations.CacheLocation' $locations -Headers Model, Source, Path -Values '(cache root)', $Yolo, 'EnvironmentVariable', 'cache' -PathProperty Path

        $detected = @(Invoke-FaceDetect -LiteralPath $portrait, (Join-Path $photos 'zidane.jpg') -Model $Slim -ErrorAction Stop)
        Add-Sample 'ModelCache.Inference.FaceDetectionResult' $detected -Headers Path, FaceCount, Model -Values 'portrait.jpg', 'zidane.jpg', $Slim, "$($detected[0].FaceCount)" -PathProperty Path
        $faces = @(Invoke-FaceDetect -LiteralPath $portrait -Model $Slim -AsFace)
        Add-Sample 'ModelCache.Inference.Face' $faces -Headers Confidence, X, Y, Width, Height, Path -Values ('{0:0.000}' -f $faces[0].Confidence), 'portrait.jpg' -PathProperty Path

        $hubRepo = New-TestHubRepo -Root $Long.HubCache -Repo acme/tiny -Commit ('1' * 40) -Files ([ordered]@{ 'onnx/model.onnx' = 'weights' })
        $hubRepo.Folder.Length | Should -BeGreaterOrEqual 150
        $hub = @(Get-ModelCache -Layout HuggingFace)
        Add-Sample 'ModelCache.HuggingFace.HubCacheEntry' $hub -Headers Repo, Revision, Size, FilePath -Values 'acme/tiny', 'onnx/model.onnx' -PathProperty SnapshotPath
        # A repository id as long as the common ones (38 characters), with a second, detached revision.
        $longRepo = 'sentence-transformers/all-MiniLM-L6-v2'
        $null = New-TestHubRepo -Root $Long.HubCache -Repo $longRepo -Commit ('2' * 40) -Files ([ordered]@{ 'onnx/model.onnx' = 'weights v2' })
        $null = New-TestHubRepo -Root $Long.HubCache -Repo $longRepo -Commit ('3' * 40) -Ref @() -Files ([ordered]@{ 'onnx/model.onnx' = 'weights v3' })
        $repos = @(Get-ModelCache -Layout HuggingFace -Repository)
        Add-Sample 'ModelCache.HuggingFace.HubCacheRepo' $repos -Headers Repo, Size, Files, Accessed, Refs -Values 'acme/tiny', $longRepo, 'main', '+1'
        Add-Sample 'ModelCache.HuggingFace.HubCacheRevision' @($repos.Revisions) -Headers Repo, Commit, Size, Files, Modified, Refs -Values 'acme/tiny', '22222222', '33333333', '(detached)' -PathProperty SnapshotPath
        $removedHub = @(Clear-ModelCache -Layout HuggingFace -Name acme/tiny -Confirm:$false -PassThru)
        Add-Sample 'ModelCache.HuggingFace.HubRemovalResult' $removedHub -Headers Repo, Removed, Files, Freed -Values 'acme/tiny', 'whole repo'

        $bundlePath = Join-Path $Long.Root 'bundles for the air-gapped site/detectors.zip'
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $bundlePath)
        $exported = @(Export-ModelCache -Path $bundlePath -ErrorAction Stop)
        Add-Sample 'ModelCache.Bundles.BundleExportResult' $exported -Headers Models, Size, ManifestSha256, Path -Values '2', 'detectors.zip' -PathProperty Path
        # A push needs a registry (Export-ModelCache -Registry is run against one in RegistryPush.Tests.ps1): its result, built here.
        $pushDigest = 'sha256:' + ('ab' * 32)
        # The module's assemblies load in their own context: the type is reached through the cmdlet's declared output.
        $pushType = ((Get-Command Export-ModelCache).OutputType | Where-Object Name -EQ 'ModelCache.Registry.RegistryPushResult').Type
        $pushTarget = $pushType.Assembly.GetType('ModelCache.Registry.OciArtifactReference')::Parse('oci://registry.example.com/team/detectors:2026-12')
        $pushed = @($pushType::new($pushTarget,
            $pushDigest, [string[]]@($Yolo, $Slim), 2, 1, 1500000, 2, 2500000, $true, [TimeSpan]::FromSeconds(3)))
        Add-Sample 'ModelCache.Registry.RegistryPushResult' $pushed -Headers Models, Uploaded, Skipped, Reference -Values '2', 'oci://registry.example.com/team/detectors:2026-12'
        $otherRoot = Join-Path $Long.Root 'a second cache for the imported bundle'
        $imported = @(Import-ModelCache -LiteralPath $bundlePath -CachePath $otherRoot -ErrorAction Stop)
        Add-Sample 'ModelCache.Bundles.ModelImportResult' $imported -Headers Name, Status, Size -Values $Yolo, $Slim, 'Imported' -PathProperty Path
        $movedRoot = Join-Path $Long.Root 'the cache moved to a larger disk'
        $moved = @(Move-ModelCache -CachePath $otherRoot -Destination $movedRoot -Confirm:$false -WarningAction SilentlyContinue -ErrorAction Stop)
        Add-Sample 'ModelCache.Moves.ModelMoveResult' $moved -Headers Name, Status, Size, Destination -Values $Yolo, $Slim, 'Moved' -PathProperty Destination

        $quota = @(Set-ModelCacheQuota -MaxSize 1GB -PassThru)
        Set-ModelCacheQuota -Reset
        Add-Sample 'ModelCache.Store.CacheQuota' $quota -Headers MaxSize, Source -Values '1.0 GiB', 'Set-ModelCacheQuota', 'CurrentUser', "$(Split-Path -Leaf ($quota[0].Source -replace '^.*\((.*)\)$', '$1')))"

        $partial = Join-Path $Long.Cache 'models/UltraFace/RFB_320/version-RFB-320.onnx.partial'
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $partial)
        Set-Content -LiteralPath $partial -Value 'half a model'
        $partials = @(Clear-ModelCache -Partial -Confirm:$false -PassThru)
        Add-Sample 'ModelCache.Store.PartialFile' $partials -Headers Name, Size, LastWrite, Path -Values $Rfb -PathProperty Path

        $manifest = Join-Path $Long.Root 'desired state of every kiosk.json'
        @{ formatVersion = 1; models = @($Yolo, $Slim) } | ConvertTo-Json | Set-Content -LiteralPath $manifest
        $sync = @(Sync-ModelCache -Manifest $manifest -ErrorAction Stop)
        Add-Sample 'ModelCache.Sync.SyncSummary' $sync -Headers Added, Repaired, Removed, Unchanged, Failed, Transferred, CacheRoot -Values '2', 'cache' -PathProperty CacheRoot

        $drift = @(Test-ModelCache -Manifest $manifest -Detailed -ErrorAction Stop)
        Add-Sample 'ModelCache.Sync.ModelDrift' $drift -Headers State, Name, Actual, Path -Values 'Ok', $Yolo, $Slim, 'version-slim-320.onnx', $YoloFile -PathProperty Path

        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $partial)
        Set-Content -LiteralPath $partial -Value 'half a model again'
        $optimized = @(Optimize-ModelCache -Confirm:$false -ErrorAction Stop)
        Add-Sample 'ModelCache.Store.CacheOptimizeAction' $optimized -Headers Action, Name, Freed, Detail -Values $Rfb -PathProperty Path

        # The server writes its info object once it listens, then serves until stopped: a thread job keeps the object
        # live in this process, and Stop-Job stops the server as Ctrl+C would.
        $job = Start-ThreadJob -ArgumentList $ModuleUnderTest {
            param($Module)
            Import-Module $Module -ErrorAction Stop
            Start-ModelCacheServer -Port 0 -ListenAddress 127.0.0.1 -ReadOnly
        }
        try {
            $server = @()
            $clock = [Diagnostics.Stopwatch]::StartNew()
            while ($server.Count -eq 0 -and $job.State -in 'NotStarted', 'Running' -and $clock.Elapsed.TotalSeconds -lt 60) {
                $server = @(Receive-Job $job)
                Start-Sleep -Milliseconds 100
            }
            $server.Count | Should -Be 1 -Because "the server should start ($($job.State)): $($job.ChildJobs.Error)"
        }
        finally {
            $job | Stop-Job -PassThru | Remove-Job -Force
        }
        Add-Sample 'ModelCache.Server.ModelCacheServerInfo' $server -Headers MirrorUri, Layout, ReadOnly, Admin, Root -Values "$($server[0].MirrorUri)", 'cache' -PathProperty Root
    }

    AfterAll {
        Exit-ModelCacheSandbox
    }

    It 'has a sample for every table view the module defines' {
        $TableViews.Count | Should -BeGreaterThan 0
        $missing = @($TableViews | Where-Object { -not $Samples.ContainsKey($_.TypeName) } | ForEach-Object { "$($_.View) ($($_.TypeName))" })
        $missing | Should -BeNullOrEmpty -Because 'every table view needs a sample object in this test'
    }

    It '<View> (<File>) keeps every line within 80 columns and its key columns whole' -ForEach $TableViews {
        $Samples.ContainsKey($TypeName) | Should -BeTrue -Because "$View needs a sample object in this test"
        $sample = $Samples[$TypeName]
        # 80 columns, and the 79 an 80-column console gives a table (Out-Host keeps the last column free).
        foreach ($width in 80, 79) {
            $lines = @(($sample.Objects | Format-Table | Out-String -Width $width) -split "`r?`n" | Where-Object { $_.Trim() })
            $shown = "`n$($lines -join "`n")"
            $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual $width -Because "no line may wrap on a $width-column screen:$shown" }
            $headerWords = $lines[0] -split '\s+' | Where-Object { $_ }
            foreach ($header in $sample.Headers) { $headerWords | Should -Contain $header -Because "the $header column should be shown at $width columns:$shown" }
            $body = $lines | Select-Object -Skip 2
            foreach ($value in $sample.Values) {
                @($body | Where-Object { $_ -match "(^|[\s/\\…])$([regex]::Escape($value))(\s|$)" }).Count |
                    Should -BeGreaterThan 0 -Because "'$value' should be shown whole at $width columns in:$shown"
            }
        }
        if ($sample.PathProperty) {
            # The object keeps the whole path, and a list shows it whole (wrapped at 80 columns).
            $longest = $sample.Objects | Sort-Object { ([string] $_.($sample.PathProperty)).Length } -Descending | Select-Object -First 1
            $path = [string] $longest.($sample.PathProperty)
            $path.Length | Should -BeGreaterOrEqual 150
            $list = ($longest | Format-List | Out-String -Width 80) -replace '\s', ''
            $list | Should -BeLike "*$([WildcardPattern]::Escape(($path -replace '\s', '')))*"
        }
    }

    It '<View> (<File>): the default list of its objects names no .NET type, raw collection or raw duration' -ForEach $TableViews {
        $objects = @($Samples[$TypeName].Objects)
        if ($Lists.ContainsKey($TypeName)) { $objects += $Lists[$TypeName] }
        Assert-ReadableOutput $objects -List -Context $View
    }

    It 'the cache summary reads the same way, and leads with its verdict' {
        $summary = $Lists['ModelCache.Store.CacheSummary']
        Assert-ReadableOutput $summary -List -Context 'summary'
        $lines = @(($summary | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Health\s+: (Good|Large|Cluttered|Corrupt) — \d+ models?, \d+(\.\d)? [KMG]?i?B'
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
    }
}
