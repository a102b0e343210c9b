# Optimize-ModelCache through the real cmdlets on real files: fixture models saved from the fixture
# mirror into a sandbox cache, damage planted by hand, then what the cmdlet writes and leaves on disk.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:ActionType = 'ModelCache.Store.CacheOptimizeAction'
    $script:SlimFile = 'version-slim-320.onnx'

    function Get-ModelFolder([string] $Name) { Join-Path $Sandbox.Cache ('models/' + $Name) }

    function Invoke-Verbose([scriptblock] $Command) {
        & $Command 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
    }

    function Switch-Byte([string] $Path) {
        $bytes = [IO.File]::ReadAllBytes($Path)
        $bytes[[int]($bytes.Length / 2)] = $bytes[[int]($bytes.Length / 2)] -bxor 0xFF
        [IO.File]::WriteAllBytes($Path, $bytes)
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Optimize-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'optimize'
        $null = Save-Model $Yolo, $Slim -ErrorAction Stop
        $script:SlimPath = Join-Path (Get-ModelFolder $Slim) $SlimFile
    }

    It 'declares its output type and shows actions in a table' {
        (Get-Command Optimize-ModelCache).OutputType.Name | Should -Contain $ActionType
        Switch-Byte $SlimPath
        $action = Optimize-ModelCache -Confirm:$false
        $action | Get-TypeName | Should -Be $ActionType
        $table = $action | Format-Table | Out-String -Width 200
        $table | Should -Match 'Action\s+Name\s+Freed\s+Detail'
        $table | Should -Match 'RemovedCorrupt\s+UltraFace/SLIM_320'
    }

    It 'changes nothing with -WhatIf, and says what it would do' {
        Switch-Byte $SlimPath
        $before = (Get-FileHash $SlimPath).Hash
        $partial = Join-Path (Get-ModelFolder $Rfb) 'version-RFB-320.onnx.partial'
        $null = New-Item -ItemType Directory -Force (Split-Path $partial)
        [IO.File]::WriteAllBytes($partial, [byte[]]::new(100))

        $transcript = Join-Path $Sandbox.Root 'whatif.txt'
        $null = Start-Transcript -LiteralPath $transcript
        try { $output = Optimize-ModelCache -Quarantine -WhatIf } finally { $null = Stop-Transcript }

        $output | Should -BeNullOrEmpty
        $said = Get-Content -Raw $transcript
        $said | Should -Match 'What if: .*"Move corrupt model file to quarantine" on target "UltraFace/SLIM_320'
        $said | Should -Match 'What if: .*"Remove stale partial download" on target "UltraFace/RFB_320'
        $said | Should -Match "What if: Optimize-ModelCache would make 2 changes freeing up to 100 B in '"
        (Get-FileHash $SlimPath).Hash | Should -Be $before
        Test-Path $partial | Should -BeTrue
        Test-Path (Join-Path $Sandbox.Cache 'quarantine') | Should -BeFalse
    }

    It 'ends with what it did, and says when there is nothing to do, with and without -WhatIf' {
        Switch-Byte $SlimPath
        $all = @(Optimize-ModelCache -Confirm:$false 6>&1)
        $all[0] | Get-TypeName | Should -Be $ActionType
        $all[-1] | Should -BeOfType [System.Management.Automation.InformationRecord]
        "$($all[-1])" | Should -Match "^Optimize-ModelCache: 1 change made in '.*', \d+(\.\d)? [KM]iB freed\.$"
        $all[-1].Tags | Should -Contain 'PSHOST' -Because 'the line shows on the console like Write-Host, and can be silenced or captured'

        $clean = @(Optimize-ModelCache -Confirm:$false 6>&1)
        $clean.Count | Should -Be 1
        "$($clean[0])" | Should -Match "^Optimize-ModelCache: nothing to do in '.*' \(no stale partial downloads, corrupt files, lost metadata or duplicates\)\.$"
        Optimize-ModelCache -Confirm:$false -InformationAction Ignore 6>&1 | Should -BeNullOrEmpty

        $transcript = Join-Path $Sandbox.Root 'clean-whatif.txt'
        $null = Start-Transcript -LiteralPath $transcript
        try { $output = Optimize-ModelCache -WhatIf } finally { $null = Stop-Transcript }
        $output | Should -BeNullOrEmpty
        Get-Content -Raw $transcript | Should -Match "What if: Optimize-ModelCache: nothing to do in '"
    }

    It 'removes a stale partial download but keeps one whose lock a running download holds' {
        $stale = Join-Path (Get-ModelFolder $Rfb) 'version-RFB-320.onnx.partial'
        $null = New-Item -ItemType Directory -Force (Split-Path $stale)
        [IO.File]::WriteAllBytes($stale, [byte[]]::new(1000))
        $live = Join-Path (Get-ModelFolder 'RetinaFace/MNET_025') 'retinaface_mnet025.onnx.partial'
        $null = New-Item -ItemType Directory -Force (Split-Path $live)
        [IO.File]::WriteAllBytes($live, [byte[]]::new(500))
        $lockPath = Join-Path $Sandbox.Cache 'locks/RetinaFace/MNET_025.lock'
        $null = New-Item -ItemType Directory -Force (Split-Path $lockPath)
        $lock = [IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $actions = @(Optimize-ModelCache -Confirm:$false)
        }
        finally {
            $lock.Dispose()
        }

        $actions.Count | Should -Be 1
        "$($actions[0].Action)" | Should -Be 'RemovedPartial'
        $actions[0].Name | Should -Be $Rfb
        $actions[0].BytesFreed | Should -Be 1000
        Test-Path $stale | Should -BeFalse
        Test-Path $live | Should -BeTrue
    }

    It 'quarantines a corrupt file in the state area, and Save-Model fetches a good one again' {
        Switch-Byte $SlimPath
        $damaged = (Get-FileHash $SlimPath).Hash

        $action = Optimize-ModelCache -Quarantine -Confirm:$false

        "$($action.Action)" | Should -Be 'Quarantined'
        $kept = @(Get-ChildItem -Recurse -File (Join-Path $Sandbox.Cache 'quarantine/UltraFace/SLIM_320'))
        $kept.Count | Should -Be 1
        (Get-FileHash $kept[0].FullName).Hash | Should -Be $damaged
        Test-Path $SlimPath | Should -BeFalse
        "$((Save-Model $Slim | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'rebuilds lost metadata from the file' {
        $metadata = Join-Path (Get-ModelFolder $Yolo) 'entry.json'
        Remove-Item $metadata

        $action = Optimize-ModelCache -Confirm:$false

        "$($action.Action)" | Should -Be 'RebuiltMetadata'
        (Get-Content -Raw $metadata | ConvertFrom-Json).sha256 | Should -Be $YoloSha
    }

    It 'hard-links the same content held by two entries and counts the bytes' -Skip:(-not $IsLinux) {
        $catalog = Join-Path $Sandbox.Root 'twin.json'
        $slimSha = (Get-FileHash -LiteralPath $SlimPath -Algorithm SHA256).Hash.ToLowerInvariant()
        @{ models = @(@{ family = 'Twin'; member = 'SLIM'; task = 'face_detection'; fileName = $SlimFile; url = "https://example.invalid/$SlimFile"; sha256 = $slimSha; size = (Get-Item $SlimPath).Length }) } |
            ConvertTo-Json -Depth 4 | Set-Content $catalog
        $twin = (Save-Model Twin/SLIM -CatalogPath $catalog -ErrorAction Stop).Path
        (& stat -c %i $twin) | Should -Not -Be (& stat -c %i $SlimPath)

        $action = Optimize-ModelCache -CatalogPath $catalog -Confirm:$false

        "$($action.Action)" | Should -Be 'Deduplicated'
        $action.BytesFreed | Should -Be (Get-Item $SlimPath).Length
        (& stat -c %i $twin) | Should -Be (& stat -c %i $SlimPath)
        $env:MODELCACHE_CATALOG = $catalog
        "$((Get-ModelCache | Test-ModelHash).Status)" | Should -Be 'Valid Valid Valid'
    }

    It 'keeps orphans unless -RemoveOrphans' {
        $orphan = Join-Path $Sandbox.Cache 'models/Stranger/ONE/own.onnx'
        $null = New-Item -ItemType Directory -Force (Split-Path $orphan)
        [IO.File]::WriteAllBytes($orphan, [byte[]]::new(2048))

        $verbose = Invoke-Verbose { Optimize-ModelCache -Confirm:$false -Verbose }
        Test-Path $orphan | Should -BeTrue
        $verbose | Should -Contain "Kept Stranger/ONE, which no catalog knows ($orphan); -RemoveOrphans removes it."

        $action = Optimize-ModelCache -RemoveOrphans -Confirm:$false
        "$($action.Action)" | Should -Be 'RemovedOrphan'
        Test-Path $orphan | Should -BeFalse
    }

    It 'reports a linked member folder and removes nothing through it' -Skip:(-not $IsLinux) {
        $outside = Join-Path $Sandbox.Root 'outside'
        $null = New-Item -ItemType Directory $outside
        [IO.File]::WriteAllBytes((Join-Path $outside 'version-RFB-320.onnx.partial'), [byte[]]::new(10))
        $null = New-Item -ItemType Directory -Force (Split-Path (Get-ModelFolder $Rfb))
        $null = New-Item -ItemType SymbolicLink -Path (Get-ModelFolder $Rfb) -Target $outside

        $actions = @(Optimize-ModelCache -RemoveOrphans -Confirm:$false -ErrorVariable problems -ErrorAction SilentlyContinue)

        $actions | Should -BeNullOrEmpty
        $problems.FullyQualifiedErrorId | Should -Contain 'CacheFolderIsLink,ModelCache.PowerShell.Cmdlets.OptimizeModelCacheCommand'
        Test-Path (Join-Path $outside 'version-RFB-320.onnx.partial') | Should -BeTrue
    }
}

Describe 'Optimize-ModelCache -Precompile and Invoke-FaceDetect' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'precompile'
        $null = Save-Model $Slim -ErrorAction Stop
        $script:Image = Join-Path $FixtureImages 'zidane.jpg'
        $script:Copy = Join-Path (Get-ModelFolder $Slim) "$SlimFile.optimized.onnx"
        $script:Key = Join-Path (Get-ModelFolder $Slim) "$SlimFile.optimized.json"
        $script:Baseline = Invoke-FaceDetect -LiteralPath $Image -Model $Slim
    }

    It 'writes a keyed copy beside the model, once' {
        $action = Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false
        "$($action.Action)" | Should -Be 'Precompiled'
        $action.Path | Should -Be $Copy
        $json = Get-Content -Raw $Key | ConvertFrom-Json
        $json.sourceSha256 | Should -Be (Get-FileHash (Join-Path (Get-ModelFolder $Slim) $SlimFile) -Algorithm SHA256).Hash.ToLowerInvariant()
        $json.sha256 | Should -Be (Get-FileHash $Copy -Algorithm SHA256).Hash.ToLowerInvariant()
        $json.optimizationLevel | Should -Be 'ORT_ENABLE_EXTENDED'

        Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false | Should -BeNullOrEmpty
        "$(Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false 6>&1)" | Should -Match 'nothing to do .*; 1 optimized copy already up to date\)\.$'
    }

    It 'shows no freed size for a copy it writes' {
        Remove-Item $Copy, $Key
        $table = Optimize-ModelCache -Name $Slim -Precompile -Confirm:$false | Format-Table | Out-String -Width 80
        $table | Should -Match 'Precompiled\s+UltraFace/SLIM_320'
        $table | Should -Not -Match '\b0 B\b' -Because 'a precompiled copy frees nothing; the column is left empty rather than saying 0 B'
    }

    It 'changes nothing with -WhatIf' {
        Remove-Item $Copy, $Key
        Optimize-ModelCache -Precompile -WhatIf | Should -BeNullOrEmpty
        Test-Path $Copy | Should -BeFalse
        $null = Optimize-ModelCache -Precompile -Confirm:$false
        Test-Path $Copy | Should -BeTrue
    }

    It 'is loaded by Invoke-FaceDetect, which finds the same faces' {
        $verbose = Invoke-Verbose { $script:Result = Invoke-FaceDetect -LiteralPath $Image -Model $Slim -Verbose }
        ($verbose -join "`n") | Should -Match ([regex]::Escape("Loaded the optimized copy '$Copy'"))
        $Result.FaceCount | Should -Be $Baseline.FaceCount
        $Result.Model | Should -Be $Slim
    }

    It 'is ignored, and not rebuilt, once its key is changed; -Precompile rebuilds it' {
        $json = Get-Content -Raw $Key | ConvertFrom-Json
        $json.onnxRuntimeVersion = '0.0.1'
        $json | ConvertTo-Json | Set-Content $Key
        $tampered = Get-Content -Raw $Key

        $verbose = Invoke-Verbose { $null = Invoke-FaceDetect -LiteralPath $Image -Model $Slim -Verbose }

        ($verbose -join "`n") | Should -Match 'Loading the original model: optimized copy .* ignored: it was built by ONNX Runtime 0\.0\.1'
        ($verbose -join "`n") | Should -Match ([regex]::Escape("Loaded the original model '"))
        Get-Content -Raw $Key | Should -Be $tampered
        "$((Optimize-ModelCache -Precompile -Confirm:$false).Action)" | Should -Be 'Precompiled'
    }

    It 'is ignored when its bytes are changed' {
        $bytes = [IO.File]::ReadAllBytes($Copy)
        $bytes[$bytes.Length - 10] = $bytes[$bytes.Length - 10] -bxor 1
        [IO.File]::WriteAllBytes($Copy, $bytes)

        $verbose = Invoke-Verbose { $null = Invoke-FaceDetect -LiteralPath $Image -Model $Slim -Verbose }

        ($verbose -join "`n") | Should -Match 'ignored: its SHA-256 [0-9a-f]{64} is not the [0-9a-f]{64} recorded'
    }

    It 'goes with the model when Clear-ModelCache removes it' {
        $null = Optimize-ModelCache -Precompile -Confirm:$false
        Clear-ModelCache $Slim -Confirm:$false
        Test-Path $Copy | Should -BeFalse
        Test-Path $Key | Should -BeFalse
    }
}
