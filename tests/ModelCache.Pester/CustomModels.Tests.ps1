# Custom models and shared catalogs: Import-Model, Register-/Unregister-ModelCatalog, Get-ModelCatalog -Source,
# and completion of their names, through the cmdlets on real fixture models.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:RfbFile = Join-Path $FixtureModels 'version-RFB-320.onnx'
    $script:RfbSha = (Get-FileHash -LiteralPath $RfbFile -Algorithm SHA256).Hash.ToLowerInvariant()
    $script:SlimFile = Join-Path $FixtureModels 'version-slim-320.onnx'
    $script:SlimSha = (Get-FileHash -LiteralPath $SlimFile -Algorithm SHA256).Hash.ToLowerInvariant()
    $script:CommandIds = @{
        Import     = 'ModelCache.PowerShell.Cmdlets.ImportModelCommand'
        Register   = 'ModelCache.PowerShell.Cmdlets.RegisterModelCatalogCommand'
        Unregister = 'ModelCache.PowerShell.Cmdlets.UnregisterModelCatalogCommand'
        Save       = 'ModelCache.PowerShell.Cmdlets.SaveModelCommand'
    }

    # A copy of a fixture detector under a name no catalog knows, as a user's own model would be.
    # (Names with '\' are covered by the xunit tests: PowerShell's provider turns '\' into '/' on Linux.)
    function New-CustomModelFile {
        param([string] $Name = 'site_detector.onnx', [string] $From = $RfbFile)
        $folder = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
        $null = New-Item -ItemType Directory -Path $folder
        $target = Join-Path $folder $Name
        [IO.File]::WriteAllBytes($target, [IO.File]::ReadAllBytes($From))
        $target
    }

    function New-CatalogFile {
        param([string] $Path, [string] $Family = 'Fleet', [string] $Member = 'SLIM')
        @{ models = @(@{ family = $Family; member = $Member; task = 'face_detection'; fileName = 'version-slim-320.onnx'; sha256 = $SlimSha }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $Path
        $Path
    }

    function Get-UserCatalogPath { Join-Path $env:XDG_CONFIG_HOME 'modelcache/catalog.json' }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Import-Model' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'import-model'
        $script:File = New-CustomModelFile
    }

    It 'places the file through the verified path and writes a cache entry that pipes into Test-ModelHash' {
        $entry = Import-Model -LiteralPath $File -Name Site/DETECTOR -Task face_detection -License internal
        $entry | Get-TypeName | Should -Be $TypeNames.CacheEntry
        $entry | Get-TypeName | Should -BeIn (Get-Command Import-Model).OutputType.Name
        $entry.Name | Should -Be 'Site/DETECTOR'
        "$($entry.Transfer.Source)" | Should -Be 'File'
        $entry.Path | Should -Be (Join-Path $Sandbox.Cache 'models/Site/DETECTOR/site_detector.onnx')
        "$(($entry | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'keeps the entry, without a url, in catalog.json beside settings.json' {
        $null = Import-Model $File -Name Site/DETECTOR -Task face_detection -License internal
        $catalog = Get-UserCatalogPath
        $json = Get-Content -Raw -LiteralPath $catalog | ConvertFrom-Json
        @($json.models).Count | Should -Be 1
        $json.models[0].PSObject.Properties.Name | Should -Not -Contain 'url'
        $json.models[0].sha256 | Should -Be $RfbSha
        $json.models[0].fileName | Should -Be 'site_detector.onnx'
        $listed = Get-ModelCatalog Site/DETECTOR
        $listed.Origin | Should -Be $catalog
        $listed.Url | Should -BeNullOrEmpty
        $listed.IsCached | Should -BeTrue
        $listed.License | Should -Be 'internal'
    }

    It 'is then used by name by Save-Model, Get-ModelCache, Test-ModelHash and Invoke-FaceDetect' {
        $null = Import-Model $File -Name Site/DETECTOR -Task face_detection
        "$((Save-Model Site/DETECTOR).Transfer.Source)" | Should -Be 'Cache'
        (Get-ModelCache Site/DETECTOR).Sha256 | Should -Be $RfbSha
        "$((Test-ModelHash Site/DETECTOR).Status)" | Should -Be 'Valid'
        $result = Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'zidane.jpg') -Model Site/DETECTOR
        $result.Model | Should -Be 'Site/DETECTOR'
        $result.FaceCount | Should -BeGreaterThan 0
    }

    It 'takes the file from the pipeline and skips the same file imported again' {
        $null = Get-Item -LiteralPath $File | Import-Model -Name Site/DETECTOR
        $again = Get-Item -LiteralPath $File | Import-Model -Name site/detector -Verbose 4>&1
        (($again | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n") | Should -Match 'Site/DETECTOR: Skipped'
        "$(($again | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Transfer.Source)" | Should -Be 'Cache'
        @((Get-Content -Raw -LiteralPath (Get-UserCatalogPath) | ConvertFrom-Json).models).Count | Should -Be 1
    }

    It 'refuses a built-in name held with other bytes (ModelNameConflict) and writes nothing' {
        $out = Import-Model $File -Name RetinaFace/MNET_V2 -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -Be "ModelNameConflict,$($CommandIds.Import)"
        $errs[0].TargetObject | Should -Be $File
        Test-Path (Get-UserCatalogPath) | Should -BeFalse
        Test-Path (Join-Path $Sandbox.Cache 'models/RetinaFace') | Should -BeFalse
    }

    It 'refuses a name already imported with other bytes, also within one pipeline' {
        $other = New-CustomModelFile -Name 'other.onnx' -From $SlimFile
        $out = $File, $other | ForEach-Object { [pscustomobject]@{ FullName = $_ } } | Import-Model -Name Site/DETECTOR -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be "ModelNameConflict,$($CommandIds.Import)"
        "$((Test-ModelHash Site/DETECTOR).Status)" | Should -Be 'Valid'
        (Get-ModelCache Site/DETECTOR).Sha256 | Should -Be $RfbSha
    }

    It 'refuses a file name another model has (ModelFileNameConflict)' {
        $sameName = New-CustomModelFile -Name $YoloFile
        { Import-Model $sameName -Name Site/OTHER -ErrorAction Stop } | Should -Throw -ErrorId "ModelFileNameConflict,$($CommandIds.Import)"
    }

    It 'refuses the path-like name <Name> (ModelNameInvalid)' -ForEach @(
        @{ Name = '../DETECTOR' }, @{ Name = 'Site/DETECTOR/x' }, @{ Name = 'DETECTOR' }, @{ Name = 'Site\DETECTOR' }, @{ Name = 'Site/..' }
    ) {
        { Import-Model $File -Name $Name -ErrorAction Stop } | Should -Throw -ErrorId "ModelNameInvalid,$($CommandIds.Import)"
        Test-Path (Get-UserCatalogPath) | Should -BeFalse
        Test-Path (Join-Path $Sandbox.Cache 'models') | Should -BeFalse
    }

    It 'refuses a file whose name is not a plain model file name: <FileName>' -ForEach @(
        @{ FileName = 'entry.json' }, @{ FileName = 'model.onnx.partial' }, @{ FileName = 'model.onnx.partial.json' }, @{ FileName = 'model.tmp' }
    ) {
        $bad = New-CustomModelFile -Name $FileName
        { Import-Model -LiteralPath $bad -Name Site/DETECTOR -ErrorAction Stop } | Should -Throw -ErrorId "ModelFileNameInvalid,$($CommandIds.Import)"
        Test-Path (Get-UserCatalogPath) | Should -BeFalse
    }

    It 'without -Task recognises a face detector from the model''s own inputs and outputs: <From>' -ForEach @(
        @{ From = 'version-RFB-320.onnx' }, @{ From = 'retinaface_mnet025_biubug6.onnx' }, @{ From = 'scrfd_500m_kps.onnx' },
        @{ From = 'yolov5n-0.5-face.onnx' }, @{ From = 'yolov8-lite-t-face.onnx' }, @{ From = 'face_detection_front_128x128_barracuda.onnx' }
    ) {
        $own = New-CustomModelFile -Name "own_$From" -From (Join-Path $FixtureModels $From)
        $entry = Import-Model $own -Name Site/FACES
        $entry.Task | Should -Be 'face_detection'
        (Get-ModelCatalog Site/FACES).Task | Should -Be 'face_detection'
        $result = Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'zidane.jpg') -Model Site/FACES -ErrorAction Stop
        $result.Model | Should -Be 'Site/FACES'
    }

    It 'without -Task leaves a model that is not a face detector unknown, and Invoke-FaceDetect says so' {
        $bytes = [byte[]](0x08, 0x07, 0x3A, 0x02, 0x12, 0x00) # ir_version 7 and an empty graph: ONNX, but no detector
        $other = Join-Path $TestDrive 'classifier.onnx'
        [IO.File]::WriteAllBytes($other, $bytes)
        (Import-Model $other -Name Site/OTHER).Task | Should -Be 'unknown'
        $err = { Invoke-FaceDetect -LiteralPath (Join-Path $FixtureImages 'zidane.jpg') -Model Site/OTHER -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'NotAFaceDetector,ModelCache.PowerShell.Cmdlets.InvokeFaceDetectCommand'
        $err.Exception.Message | Should -Match "task is 'unknown'"
    }

    It 'takes -Task <Given> as the catalog''s <Stored>' -ForEach @(
        @{ Given = 'face_detection'; Stored = 'face_detection' }, @{ Given = 'FaceDetection'; Stored = 'face_detection' },
        @{ Given = 'Face-Recognition'; Stored = 'face_recognition' }, @{ Given = 'HEAD_POSE'; Stored = 'head_pose' }
    ) {
        (Import-Model $File -Name Site/DETECTOR -Task $Given).Task | Should -Be $Stored
        (Get-Content -Raw -LiteralPath (Get-UserCatalogPath) | ConvertFrom-Json).models[0].task | Should -Be $Stored
    }

    It 'refuses the task <Task> (ModelTaskInvalid), naming the valid ones, and writes nothing' -ForEach @(
        @{ Task = '../../x' }, @{ Task = 'detection' }, @{ Task = 'face_detection/..' }, @{ Task = "face`ndetection" }, @{ Task = '_' }
    ) {
        $err = { Import-Model $File -Name Site/DETECTOR -Task $Task -ErrorAction Stop } | Should -Throw -ErrorId "ModelTaskInvalid,$($CommandIds.Import)" -PassThru
        $err.Exception.Message | Should -Match 'face_detection, '
        $err.ErrorDetails.RecommendedAction | Should -Match '-Task'
        $err.TargetObject | Should -Be $File
        Test-Path (Get-UserCatalogPath) | Should -BeFalse
        Test-Path (Join-Path $Sandbox.Cache 'models/Site') | Should -BeFalse
    }

    It 'completes -Task with the catalog''s tasks' {
        $line = 'Import-Model x -Name A/B -Task face_'
        $offered = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $offered | Should -Contain 'face_detection'
        $offered | Should -Contain 'face_recognition'
        $offered | Should -Not -Contain 'head_pose'
        $line = 'Import-Model x -Name A/B -Task '
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches).Count | Should -Be 15
    }

    It '-WhatIf hashes and checks, but places and writes nothing' {
        Import-Model $File -Name Site/DETECTOR -WhatIf | Should -BeNullOrEmpty
        Test-Path (Get-UserCatalogPath) | Should -BeFalse
        Test-Path (Join-Path $Sandbox.Cache 'models/Site') | Should -BeFalse
    }

    It 'a url-less model missing from the cache is ModelHasNoSource, and is saved again from a mirror holding its file' {
        $null = Import-Model $File -Name Site/DETECTOR -Task face_detection
        Get-ModelCache Site/DETECTOR | Clear-ModelCache -Confirm:$false
        $out = Save-Model Site/DETECTOR -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -Be "ModelHasNoSource,$($CommandIds.Save)"
        $errs[0].Exception.Message | Should -Match 'no url'
        $errs[0].ErrorDetails.RecommendedAction | Should -Match 'Import-Model'
        "$((Save-Model Site/DETECTOR -Mirror (Split-Path -Parent $File)).Transfer.Source)" | Should -Be 'Mirror'
    }
}

Describe 'Register-ModelCatalog and Unregister-ModelCatalog' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'register'
        $script:Fleet = New-CatalogFile (Join-Path $Sandbox.Root 'fleet.json')
    }

    It 'registers the full path once; its models are then known and saved from the mirror' {
        Push-Location $Sandbox.Root
        try { Register-ModelCatalog -Path ./fleet.json } finally { Pop-Location }
        Register-ModelCatalog -LiteralPath $Fleet
        $settings = Get-Content -Raw -LiteralPath (Join-Path $env:XDG_CONFIG_HOME 'modelcache/settings.json') | ConvertFrom-Json
        @($settings.catalogs) | Should -Be @($Fleet)
        (Get-ModelCatalog Fleet/SLIM).Origin | Should -Be $Fleet
        "$((Save-Model Fleet/SLIM | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'refuses an invalid catalog with CatalogInvalid and registers nothing' {
        $bad = Join-Path $Sandbox.Root 'bad.json'
        Set-Content -LiteralPath $bad -Value '{ "models": [ { "family": "A", "member": "B", "fileName": "../b.onnx", "sha256": "x" } ] }'
        $out = Register-ModelCatalog -Path $bad -PassThru -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -Be "CatalogInvalid,$($CommandIds.Register)"
        $errs[0].Exception.Message | Should -Match ([regex]::Escape($bad))
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'modelcache/settings.json') | Should -BeFalse
    }

    It '-WhatIf registers nothing' {
        Register-ModelCatalog -Path $Fleet -WhatIf
        Test-Path (Join-Path $env:XDG_CONFIG_HOME 'modelcache/settings.json') | Should -BeFalse
        { Get-ModelCatalog Fleet/SLIM -ErrorAction Stop } | Should -Throw -ErrorId 'ModelNotFound,*'
    }

    It 'a registered catalog that breaks later is a warning naming it; the other catalogs still load' {
        $other = New-CatalogFile (Join-Path $Sandbox.Root 'other.json') -Family Other -Member SLIM
        Register-ModelCatalog -Path $Fleet, $other
        Set-Content -LiteralPath $Fleet -Value '{ "models": [ { "family": '
        $listed = Get-ModelCatalog -WarningVariable warnings -WarningAction SilentlyContinue
        @($warnings).Count | Should -Be 1
        "$($warnings[0])" | Should -Match ([regex]::Escape($Fleet))
        $listed.Name | Should -Contain 'Other/SLIM'
        $listed.Name | Should -Not -Contain 'Fleet/SLIM'
        $listed.Name | Should -Contain $Yolo
        "$((Save-Model Other/SLIM -WarningAction SilentlyContinue).Name)" | Should -Be 'Other/SLIM'
    }

    It '-Scope AllUsers writes the machine-wide file, which merges before the user''s registrations' {
        $user = New-CatalogFile (Join-Path $Sandbox.Root 'user.json')
        @{ models = @(@{ family = 'Fleet'; member = 'SLIM'; task = 'face_detection'; fileName = 'other-name.onnx'; sha256 = $RfbSha }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $Fleet
        Register-ModelCatalog $Fleet -Scope AllUsers
        Register-ModelCatalog $user -Scope CurrentUser
        @((Get-Content -Raw -LiteralPath $env:MODELCACHE_MACHINE_CONFIG | ConvertFrom-Json).catalogs) | Should -Be @($Fleet)
        (Get-ModelCatalog Fleet/SLIM).Origin | Should -Be $user
        Unregister-ModelCatalog $user
        (Get-ModelCatalog Fleet/SLIM).Origin | Should -Be $Fleet
    }

    It '-Scope AllUsers where the machine file cannot be written is SettingsNotWritable with the hint' {
        $blocker = Join-Path $Sandbox.Root 'blocker'
        Set-Content -LiteralPath $blocker -Value 'a file where the config folder should be'
        $env:MODELCACHE_MACHINE_CONFIG = Join-Path $blocker 'config.json'
        try { Register-ModelCatalog $Fleet -Scope AllUsers -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be "SettingsNotWritable,$($CommandIds.Register)"
        $err.ErrorDetails.RecommendedAction | Should -Match '-Scope CurrentUser'
    }

    It 'unregisters by path, by pipeline from Get-ModelCatalog -Source, and says when a path is not registered' {
        $other = New-CatalogFile (Join-Path $Sandbox.Root 'other.json') -Family Other -Member SLIM
        Register-ModelCatalog $Fleet
        Register-ModelCatalog $other -Scope AllUsers
        (Unregister-ModelCatalog $Fleet -PassThru).Path | Should -Be $Fleet
        Get-ModelCatalog -Source | Where-Object Kind -eq Registered | Unregister-ModelCatalog
        @(Get-ModelCatalog -Source | Where-Object Kind -eq Registered) | Should -BeNullOrEmpty
        Test-Path $Fleet | Should -BeTrue
        { Unregister-ModelCatalog $Fleet -ErrorAction Stop } | Should -Throw -ErrorId "CatalogNotRegistered,$($CommandIds.Unregister)"
        Unregister-ModelCatalog '*nothing*' | Should -BeNullOrEmpty
    }

    It 'unregisters a catalog that no longer exists, with -WhatIf changing nothing first' {
        Register-ModelCatalog $Fleet
        Remove-Item -LiteralPath $Fleet
        Unregister-ModelCatalog '*fleet.json' -WhatIf
        @((Get-ModelCatalog -Source | Where-Object Kind -eq Registered).Path) | Should -Be @($Fleet)
        Unregister-ModelCatalog '*fleet.json'
        @(Get-ModelCatalog -Source | Where-Object Kind -eq Registered) | Should -BeNullOrEmpty
    }
}

Describe 'Get-ModelCatalog -Source' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'sources'
        $script:Machine = New-CatalogFile (Join-Path $Sandbox.Root 'machine.json') -Family Machine
        $script:User = New-CatalogFile (Join-Path $Sandbox.Root 'user.json') -Family User
        $script:FromEnv = New-CatalogFile (Join-Path $Sandbox.Root 'env.json') -Family Env
        $script:FromParameter = New-CatalogFile (Join-Path $Sandbox.Root 'param.json') -Family Param
        Register-ModelCatalog $Machine -Scope AllUsers
        Register-ModelCatalog $User
        $null = Import-Model (New-CustomModelFile) -Name Site/DETECTOR
        $env:MODELCACHE_CATALOG = $FromEnv
        $script:Sources = Get-ModelCatalog -Source -CatalogPath $FromParameter
    }

    AfterAll {
        $env:MODELCACHE_CATALOG = $null
    }

    It 'lists the catalogs in merge order, with kind, scope, model count and whether each loaded' {
        @($Sources | ForEach-Object { "$($_.Order) $($_.Kind) $($_.Scope) $($_.ModelCount) $($_.Loaded)" }) | Should -Be @(
            '1 BuiltIn  65 True', '2 Registered AllUsers 1 True', '3 Registered CurrentUser 1 True', '4 UserCatalog CurrentUser 1 True',
            '5 Environment Process 1 True', '6 Parameter Process 1 True')
        @($Sources.Path) | Should -Be @('built-in', $Machine, $User, (Get-UserCatalogPath), $FromEnv, $FromParameter)
        $Sources | Get-TypeName | Select-Object -Unique | Should -BeIn (Get-Command Get-ModelCatalog).OutputType.Name
    }

    It 'has a table view' {
        $table = $Sources | Format-Table | Out-String
        $table | Should -Match 'Order\s+Kind\s+Scope\s+Models\s+Loaded\s+Path'
        (Get-FormatData -TypeName ($Sources[0] | Get-TypeName)) | Should -Not -BeNullOrEmpty
    }

    It 'lists a file that does not load, with the problem, instead of stopping' {
        $bad = Join-Path $Sandbox.Root 'bad.json'
        Set-Content -LiteralPath $bad -Value 'not json'
        $listed = Get-ModelCatalog -Source -CatalogPath $bad
        $last = $listed[-1]
        ($last.Kind, $last.Loaded, $last.Path) | Should -Be @('Parameter', $false, $bad)
        $last.Problem | Should -Match 'not valid'
        { Get-ModelCatalog -CatalogPath $bad -ErrorAction Stop } | Should -Throw -ErrorId 'CatalogInvalid,*'
    }

    It 'each catalog entry says which catalog it came from' {
        (Get-ModelCatalog Machine/SLIM).Origin | Should -Be $Machine
        (Get-ModelCatalog Env/SLIM).Origin | Should -Be $FromEnv
        (Get-ModelCatalog $Yolo).Origin | Should -Be 'built-in'
    }
}

Describe 'Completion of custom and registered models' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'completion-custom'
        Register-ModelCatalog (New-CatalogFile (Join-Path $Sandbox.Root 'fleet.json'))
        $null = Import-Model (New-CustomModelFile) -Name Site/DETECTOR
    }

    It 'offers the models of registered catalogs and of the user''s catalog.json' {
        (TabExpansion2 -inputScript 'Save-Model Fleet/' -cursorColumn 16).CompletionMatches.CompletionText | Should -Be @('Fleet/SLIM')
        (TabExpansion2 -inputScript 'Test-ModelHash Site/' -cursorColumn 20).CompletionMatches.CompletionText | Should -Be @('Site/DETECTOR')
    }

    It 'leaves out a registered catalog that broke, and still completes the rest' {
        Set-Content -LiteralPath (Join-Path $Sandbox.Root 'fleet.json') -Value 'broken'
        (TabExpansion2 -inputScript 'Save-Model Fleet/' -cursorColumn 16).CompletionMatches | Should -BeNullOrEmpty
        (TabExpansion2 -inputScript 'Test-ModelHash Site/' -cursorColumn 20).CompletionMatches.CompletionText | Should -Be @('Site/DETECTOR')
    }
}

# A model known only from a catalog file given with -CatalogPath: the entries Save-Model writes carry the expected
# SHA-256, root and layout, so every cmdlet that takes piped entries acts on them without being given the catalog again.
Describe 'Piped entries of a model known only from -CatalogPath' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'piped-fleet'
        $script:Mirror = Join-Path $Sandbox.Root 'fleet-mirror'
        $null = New-Item -ItemType Directory -Path $Mirror
        # Under a file name of its own, as a fleet's model would be (a bundle never carries a name the built-in catalog uses).
        Copy-Item -LiteralPath $SlimFile -Destination (Join-Path $Mirror 'fleet-slim.onnx')
        $script:FleetCatalog = Join-Path $Sandbox.Root 'fleet.json'
        @{ models = @(@{ family = 'Fleet'; member = 'SLIM'; task = 'face_detection'; fileName = 'fleet-slim.onnx'; sha256 = $SlimSha }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $FleetCatalog
        $script:Root = Join-Path $Sandbox.Root 'fleet-cache'
        $script:Saved = Save-Model Fleet/SLIM -CatalogPath $FleetCatalog -Mirror $Mirror -MirrorOnly -CachePath $Root -ErrorAction Stop
        $script:Saved.ExpectedSha256 | Should -Be $SlimSha
        # Known nowhere else: the built-in and user catalogs do not list it.
        Get-ModelCatalog Fleet/SLIM -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'Test-ModelHash checks it against the hash it carries: Valid, then HashMismatch once corrupted' {
        $result = $Saved | Test-ModelHash -ErrorVariable failed
        $failed | Should -BeNullOrEmpty
        "$($result.Status)" | Should -Be 'Valid'
        $result.Expected | Should -Be $SlimSha
        $Saved | Test-ModelHash -Quiet | Should -BeTrue
        # The design's own idiom, in one pipeline.
        "$((Save-Model Fleet/SLIM -CatalogPath $FleetCatalog -Mirror $Mirror -CachePath $Root | Test-ModelHash -ErrorAction Stop).Status)" | Should -Be 'Valid'

        $bytes = [IO.File]::ReadAllBytes($Saved.Path); $bytes[100] = $bytes[100] -bxor 1; [IO.File]::WriteAllBytes($Saved.Path, $bytes)
        $null = $Saved | Test-ModelHash -ErrorVariable failed -ErrorAction SilentlyContinue
        @($failed).Count | Should -Be 1
        ($failed[0].FullyQualifiedErrorId -split ',')[0] | Should -Be 'HashMismatch'
    }

    It 'Set-ModelCacheEntry pins it' {
        $pinned = $Saved | Set-ModelCacheEntry -Pinned $true -PassThru -ErrorAction Stop
        $pinned.Pinned | Should -BeTrue
        (Get-ModelCache Fleet/SLIM -CachePath $Root -CatalogPath $FleetCatalog).Pinned | Should -BeTrue
    }

    It 'Clear-ModelCache removes it' {
        $Saved | Clear-ModelCache -Confirm:$false -ErrorAction Stop
        Test-Path -LiteralPath $Saved.Path | Should -BeFalse
        Get-ModelCache -CachePath $Root -CatalogPath $FleetCatalog | Should -BeNullOrEmpty
    }

    It 'Export-ModelCache exports it, with its entry, from its own root' {
        $zip = Join-Path $Sandbox.Root 'fleet.zip'
        $result = $Saved | Export-ModelCache -Path $zip -ErrorAction Stop
        @($result.Models) | Should -Be @('Fleet/SLIM')
        # The bundle carries the entry, so a cache that has never seen the catalog imports it.
        $other = Join-Path $Sandbox.Root 'other-cache'
        $imported = Import-ModelCache -LiteralPath $zip -CachePath $other -ErrorAction Stop
        @($imported).Count | Should -Be 1
        "$((Get-ModelCache Fleet/SLIM -CachePath $other | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'Move-ModelCache moves it, verified' {
        $destination = Join-Path $Sandbox.Root 'moved'
        $null = $Saved | Move-ModelCache -Destination $destination -Confirm:$false -ErrorAction Stop
        Test-Path -LiteralPath $Saved.Path | Should -BeFalse
        "$((Get-ModelCache -CachePath $destination -CatalogPath $FleetCatalog | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'Get-ModelCache finds it by the name it carries' {
        (($Saved | Get-ModelCache -CachePath $Root).Path) | Should -Be $Saved.Path
    }
}
