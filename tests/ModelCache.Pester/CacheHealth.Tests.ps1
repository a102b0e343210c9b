# Get-ModelCache -Summary (health at a glance) and -Verify (every entry hashed, in parallel), on real files.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Get-ModelCache -Summary' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'health'
    }

    It 'reports an empty cache as Good, with free space' {
        $summary = Get-ModelCache -Summary
        $summary | Get-TypeName | Should -Be 'ModelCache.Store.CacheSummary'
        "$($summary.Health)" | Should -Be 'Good'
        $summary.EntryCount | Should -Be 0
        $summary.Reasons | Should -BeNullOrEmpty
        $summary.FreeSpace | Should -BeGreaterThan 0
        $summary.Root | Should -Be $Sandbox.Cache
    }

    It 'counts entries by task and family, and their bytes' {
        $null = Save-Model $Yolo, $Slim, $Rfb
        $summary = Get-ModelCache -Summary
        $summary.EntryCount | Should -Be 3
        $summary.TotalBytes | Should -Be ((Get-ModelCache | Measure-Object Size -Sum).Sum)
        $summary.ByTask['face_detection'] | Should -Be 3
        $summary.ByFamily['UltraFace'] | Should -Be 2
        $summary.ByFamily['YOLOv8Face'] | Should -Be 1
        $summary.NeverVerified | Should -Be 0
        $summary.OldestVerification | Should -Not -BeNullOrEmpty
        "$($summary.Health)" | Should -Be 'Good'
    }

    It 'is Large over the size threshold and Cluttered over the file threshold, naming each threshold' {
        $null = Save-Model $Yolo, $Slim, $Rfb
        $summary = Get-ModelCache -Summary -SizeThreshold 1MB -FileCountThreshold 2
        "$($summary.Health)" | Should -Be 'Cluttered'
        $summary.Reasons | Should -Contain '3 files, over the 2-file threshold'
        $summary.Reasons | Where-Object { $_ -like '*over the 1.0 MiB threshold' } | Should -Not -BeNullOrEmpty
        "$((Get-ModelCache -Summary -SizeThreshold 1MB).Health)" | Should -Be 'Large'
    }

    It 'counts stale partial downloads, orphans and lost metadata as clutter without changing anything' {
        $null = Save-Model $Yolo
        $partialFolder = Join-Path $Sandbox.Cache 'models/UltraFace/SLIM_320'
        $null = New-Item -ItemType Directory -Path $partialFolder -Force
        $partial = Join-Path $partialFolder 'slim-320.onnx.partial'
        [IO.File]::WriteAllBytes($partial, [byte[]]::new(4096))
        (Get-Item $partial).LastWriteTimeUtc = [datetime]::UtcNow.AddDays(-2)
        $orphanFolder = Join-Path $Sandbox.Cache 'models/Nobody/Knows'
        $null = New-Item -ItemType Directory -Path $orphanFolder -Force
        [IO.File]::WriteAllBytes((Join-Path $orphanFolder 'mystery.onnx'), [byte[]]::new(1000))
        Remove-Item (Join-Path $Sandbox.Cache "models/$Yolo/entry.json")
        $before = Get-ChildItem -Recurse -Force $Sandbox.Cache | ForEach-Object { '{0}|{1}|{2}' -f $_.FullName, $_.Length, $_.LastWriteTimeUtc.Ticks }

        $summary = Get-ModelCache -Summary

        $summary.PartialCount | Should -Be 1
        $summary.PartialBytes | Should -Be 4096
        $summary.OldestPartial.UtcDateTime | Should -BeLessThan ([datetime]::UtcNow.AddDays(-1))
        $summary.OrphanCount | Should -Be 1
        $summary.OrphanBytes | Should -Be 1000
        # The lost one and the orphan, which never had any.
        $summary.MetadataMissing | Should -Be 2
        "$($summary.Health)" | Should -Be 'Cluttered'
        $summary.Reasons | Should -Contain '1 partial downloads untouched for over 1 h'
        $summary.Reasons | Should -Contain '1 files in no catalog (1000 B)'
        # A summary is read-only: metadata stays lost (a listing rebuilds it), the partial stays.
        Get-ChildItem -Recurse -Force $Sandbox.Cache | ForEach-Object { '{0}|{1}|{2}' -f $_.FullName, $_.Length, $_.LastWriteTimeUtc.Ticks } | Should -Be $before
    }

    It 'is Corrupt when an entry failed its last check or its metadata is not trusted, and says so' {
        $null = Save-Model $Yolo, $Slim
        $file = (Get-ModelCache $Slim).Path
        $bytes = [IO.File]::ReadAllBytes($file); $bytes[100] = $bytes[100] -bxor 0xFF; [IO.File]::WriteAllBytes($file, $bytes)
        $null = Test-ModelHash $Slim -ErrorAction SilentlyContinue
        Set-Content -LiteralPath (Join-Path $Sandbox.Cache "models/$Yolo/entry.json") -Value '{"schemaVersion":1,"family":"../../etc","member":"x","fileName":"../../../etc/passwd"}'

        $summary = Get-ModelCache -Summary -ErrorVariable problems -ErrorAction SilentlyContinue

        "$($summary.Health)" | Should -Be 'Corrupt'
        $summary.FailedChecks | Should -Be 1
        $summary.MetadataInvalid | Should -Be 1
        $summary.Reasons[0] | Should -BeLike '1 entries failed their last hash check*'
        $problems.FullyQualifiedErrorId | Should -Contain 'CacheMetadataInvalid,ModelCache.PowerShell.Cmdlets.GetModelCacheCommand'
    }

    It 'is Corrupt when a model file is a folder (or FIFO, socket, device), and names the problem' {
        $null = Save-Model $Yolo, $Slim
        $file = (Get-ModelCache $Slim).Path
        Remove-Item -LiteralPath $file
        $null = New-Item -ItemType Directory -Path $file

        $summary = Get-ModelCache -Summary -ErrorVariable problems -ErrorAction SilentlyContinue

        "$($summary.Health)" | Should -Be 'Corrupt'
        $summary.NotRegularFiles | Should -Be 1
        $summary.Reasons | Should -Contain '1 model files are not regular files (see the NotARegularFile errors)'
        $problems.FullyQualifiedErrorId | Should -Contain 'NotARegularFile,ModelCache.PowerShell.Cmdlets.GetModelCacheCommand'
    }

    It 'reads at 80 columns' {
        $null = Save-Model $Yolo, $Slim
        $lines = Get-ModelCache -Summary | Out-String -Width 80 -Stream | Where-Object { $_ }
        $lines | Should -Not -BeNullOrEmpty
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines[0] | Should -Match '^Health\s+: Good — 2 models, \d+\.\d MiB(, \d+\.\d [KMGT]iB free)?$' -Because 'the verdict comes first, in one line'
        ($lines -join "`n") | Should -Not -Match 'Reasons' -Because 'a Good cache has no reasons to list'
        ($lines -join "`n") | Should -Match 'ByTask\s+: face_detection 2 \(\d+\.\d MiB\)'
    }

    It 'sums up the Hugging Face hub cache too (issue 19: it was refused with LayoutNotSupported)' {
        $summary = Get-ModelCache -Summary -Layout HuggingFace -ErrorAction Stop
        "$($summary.Layout)" | Should -Be 'HuggingFace'
        $summary.EntryCount | Should -Be 0
        "$($summary.Health)" | Should -Be 'Good'
    }
}

Describe 'Get-ModelCache -Verify' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'verify'
    }

    It 'hashes every entry, records the check and writes an error per corrupt one' {
        $null = Save-Model $Yolo, $Slim, $Rfb
        $file = (Get-ModelCache $Rfb).Path
        $stream = [IO.File]::OpenWrite($file); $stream.Position = 10; $stream.WriteByte(0x5A); $stream.WriteByte(0xA5); $stream.Dispose()

        $entries = Get-ModelCache -Verify -ThrottleLimit 3 -ErrorVariable failures -ErrorAction SilentlyContinue

        @($entries).Count | Should -Be 3
        $entries | ForEach-Object { $_ | Get-TypeName | Should -Be $TypeNames.CacheEntry }
        "$(($entries | Where-Object Name -eq $Rfb).LastCheck)" | Should -Be 'Failed'
        @($entries | Where-Object { "$($_.LastCheck)" -eq 'Passed' }).Count | Should -Be 2
        @($failures).Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'HashMismatch,ModelCache.PowerShell.Cmdlets.GetModelCacheCommand'
        $failures[0].TargetObject.Name | Should -Be $Rfb
        # Recorded: a listing and the summary see it.
        "$((Get-ModelCache $Rfb).LastCheck)" | Should -Be 'Failed'
        "$((Get-ModelCache -Summary).Health)" | Should -Be 'Corrupt'
    }

    It 'verifies only the names given, and a repaired entry passes again' {
        $null = Save-Model $Yolo, $Slim
        $entries = Get-ModelCache -Verify 'UltraFace/*'
        @($entries).Name | Should -Be @($Slim)
        "$($entries.LastCheck)" | Should -Be 'Passed'
    }

    It 'warns about a file in no catalog instead of calling it corrupt' {
        $null = Save-Model $Yolo
        $orphanFolder = Join-Path $Sandbox.Cache 'models/Nobody/Knows'
        $null = New-Item -ItemType Directory -Path $orphanFolder -Force
        [IO.File]::WriteAllBytes((Join-Path $orphanFolder 'mystery.onnx'), [byte[]]::new(1000))
        $entries = Get-ModelCache -Verify -WarningVariable warnings -WarningAction SilentlyContinue -ErrorVariable failures
        @($entries).Count | Should -Be 2
        $failures | Should -BeNullOrEmpty
        $warnings | Should -HaveCount 1
        "$warnings" | Should -BeLike 'Nobody/Knows is in no catalog*'
    }
}
