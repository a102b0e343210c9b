# Cleaning and quotas through the cmdlets on real fixture files: Clear-ModelCache's filters, pins (Set-ModelCacheEntry),
# -WhatIf's summary, Save-Model -MaxSize eviction and Sync-ModelCache's quota report.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:RetinaFace = 'RetinaFace/MNET_025_BIUBUG6'
    $script:Sizes = @{ $Yolo = $YoloSize; $Slim = 1195330; $Rfb = 1270727; 'RetinaFace/MNET_025_BIUBUG6' = 1729306 }

    # Rewrites an entry's recorded times, as if it had been saved and used that many days ago.
    function Set-EntryAge {
        param([string] $Name, [int] $SavedDaysAgo, [int] $UsedDaysAgo = -1)
        $path = Join-Path $Sandbox.Cache "models/$Name/entry.json"
        $metadata = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
        $metadata.savedAt = [DateTimeOffset]::UtcNow.AddDays(-$SavedDaysAgo).ToString('o')
        $metadata.lastUsed = if ($UsedDaysAgo -ge 0) { [DateTimeOffset]::UtcNow.AddDays(-$UsedDaysAgo).ToString('o') } else { $null }
        $metadata | ConvertTo-Json | Set-Content -LiteralPath $path
    }

    function Get-CachedNames { @(Get-ModelCache | ForEach-Object Name | Sort-Object) }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Clear-ModelCache filters' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'clean'
        $null = Save-Model $Yolo, $Slim, $Rfb
    }

    It '-OlderThan removes entries saved longer ago, and nothing else' {
        Set-EntryAge $Slim -SavedDaysAgo 40 -UsedDaysAgo 1
        Set-EntryAge $Rfb -SavedDaysAgo 10
        $removed = Clear-ModelCache -OlderThan (New-TimeSpan -Days 30) -Confirm:$false -PassThru
        $removed.Name | Should -Be $Slim
        Get-CachedNames | Should -Be @($Rfb, $Yolo)
    }

    It '-NotUsedSince goes by LastUsed, else SavedAt' {
        Set-EntryAge $Slim -SavedDaysAgo 1 -UsedDaysAgo 40
        Set-EntryAge $Rfb -SavedDaysAgo 40
        Set-EntryAge $Yolo -SavedDaysAgo 40 -UsedDaysAgo 1
        Clear-ModelCache -NotUsedSince (Get-Date).AddDays(-30) -Confirm:$false
        Get-CachedNames | Should -Be @($Yolo)
    }

    It '-Family and -Task select by the entry, and combine with -Name as AND' {
        Clear-ModelCache -Task face_recognition -Confirm:$false
        Get-CachedNames | Should -Be @($Rfb, $Slim, $Yolo)
        Clear-ModelCache -Name '*320' -Family UltraFace -OlderThan (New-TimeSpan -Days 1) -Confirm:$false
        Get-CachedNames | Should -Be @($Rfb, $Slim, $Yolo) -Because 'none is a day old'
        Clear-ModelCache -Name 'RFB*', $Yolo -Family UltraFace -Confirm:$false
        Get-CachedNames | Should -Be @($Slim, $Yolo)
        Clear-ModelCache -Family 'Ultra*' -Task face_detection -Confirm:$false
        Get-CachedNames | Should -Be @($Yolo)
    }

    It '-Orphaned removes only files no catalog knows' {
        $stray = Join-Path $Sandbox.Cache 'models/Stray/THING'
        $null = New-Item -ItemType Directory -Path $stray
        Copy-Item (Join-Path $FixtureModels 'scrfd_500m_kps.onnx') -Destination (Join-Path $stray 'thing.onnx')
        $removed = Clear-ModelCache -Orphaned -Confirm:$false -PassThru
        $removed.Name | Should -Be 'Stray/THING'
        Test-Path -LiteralPath $stray | Should -BeFalse
        Get-CachedNames | Should -Be @($Rfb, $Slim, $Yolo)
    }

    It '-Partial removes a partial no process writes and keeps one whose lock is held' {
        $idle = Join-Path $Sandbox.Cache 'models/UltraFace/SLIM_320/version-slim-320.onnx.partial'
        $busy = Join-Path $Sandbox.Cache 'models/SCRFD/SCRFD_500M_KPS/scrfd_500m.onnx.partial'
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $busy)
        Set-Content -LiteralPath $idle -Value 'half a model'
        Set-Content -LiteralPath $busy -Value 'being written'
        $lockPath = Join-Path $Sandbox.Cache 'locks/SCRFD/SCRFD_500M_KPS.lock'
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $lockPath)
        $held = [IO.File]::Open($lockPath, 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $removed = Clear-ModelCache -Partial -Confirm:$false -PassThru -Verbose 4>&1
        }
        finally {
            $held.Dispose()
        }
        ($removed | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Name | Should -Be $Slim
        "$($removed | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })" | Should -Match 'SCRFD/SCRFD_500M_KPS: a process is writing it'
        Test-Path -LiteralPath $idle | Should -BeFalse
        Test-Path -LiteralPath $busy | Should -BeTrue
        Get-CachedNames | Should -Be @($Rfb, $Slim, $Yolo) -Because 'the finished model beside the partial stays'
    }

    It '-WhatIf lists each entry, ends with one line of entries and bytes, and removes nothing' {
        $before = @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName)
        $script = Join-Path $Sandbox.Root 'whatif.ps1'
        Set-Content -LiteralPath $script -Value "Import-Module '$ModuleUnderTest'; Clear-ModelCache -Family UltraFace -WhatIf"
        $child = Invoke-ChildPwsh $script
        $child.ExitCode | Should -Be 0
        $said = $child.Output -join "`n"
        $bytes = $Sizes[$Slim] + $Sizes[$Rfb]
        $said | Should -Match ([regex]::Escape('What if: Performing the operation "Remove cached model" on target "UltraFace/SLIM_320'))
        $said | Should -Match ([regex]::Escape("What if: Clear-ModelCache would remove 2 entries ($bytes bytes, "))
        @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -Force | ForEach-Object FullName) | Should -Be $before
    }

    It 'refuses the filters on a Hugging Face hub cache' {
        { Clear-ModelCache -Layout HuggingFace -OlderThan (New-TimeSpan -Days 1) -ErrorAction Stop } | Should -Throw -ErrorId 'LayoutNotSupported,ModelCache.PowerShell.Cmdlets.ClearModelCacheCommand'
    }
}

Describe 'Pinned entries' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'pins'
        $null = Save-Model $Yolo, $Slim, $Rfb
        $script:Pinned = Set-ModelCacheEntry $Slim -Pinned $true -PassThru
    }

    It 'records the pin in the entry, shows it in the table, and unpins' {
        $Pinned.Pinned | Should -BeTrue
        $Pinned | Get-TypeName | Should -Be $TypeNames.CacheEntry
        (Get-ModelCache $Slim).Pinned | Should -BeTrue
        (Get-Content -LiteralPath (Join-Path $Sandbox.Cache "models/$Slim/entry.json") -Raw | ConvertFrom-Json).pinned | Should -BeTrue
        $rows = (Get-ModelCache | Out-String -Width 80) -split "`n"
        $rows | Where-Object { $_ -match 'SLIM_320' } | Should -Match '\spinned$' -Because 'a pinned entry says so where its last use would be'
        $rows | Where-Object { $_ -match 'RFB_320' } | Should -Match '\s\d{4}-\d\d-\d\d$'
        (Get-ModelCache $Slim | Format-List | Out-String -Width 80) | Should -Match 'Pinned\s+: Yes'
        Get-ModelCache $Rfb | Set-ModelCacheEntry -Pinned $true
        (Get-ModelCache $Rfb).Pinned | Should -BeTrue
        Set-ModelCacheEntry 'UltraFace/*' -Pinned $false
        @(Get-ModelCache | Where-Object Pinned) | Should -BeNullOrEmpty
    }

    It 'is kept by wildcards, filters, piped entries and -All, with a warning' {
        Clear-ModelCache 'UltraFace/*' -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match 'Kept 1 pinned entries: UltraFace/SLIM_320'
        Get-CachedNames | Should -Be @($Slim, $Yolo)
        Clear-ModelCache -Family UltraFace -Force -Confirm:$false -WarningAction SilentlyContinue
        Get-ModelCache $Slim | Clear-ModelCache -Confirm:$false -WarningAction SilentlyContinue
        Clear-ModelCache -All -Force -WarningAction SilentlyContinue
        Get-CachedNames | Should -Be @($Slim)
    }

    It 'goes only when named by a plain name with -Force' {
        Clear-ModelCache $Slim -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match '-Force'
        Get-CachedNames | Should -Contain $Slim
        Clear-ModelCache $Slim -Force -Confirm:$false
        Get-CachedNames | Should -Not -Contain $Slim
    }

    It 'survives Save-Model -Force, and -WhatIf pins nothing' {
        $null = Save-Model $Slim -Force
        (Get-ModelCache $Slim).Pinned | Should -BeTrue
        Set-ModelCacheEntry $Rfb -Pinned $true -WhatIf
        (Get-ModelCache $Rfb).Pinned | Should -BeFalse
    }

    It 'says ModelNotCached for a plain name that is not cached' {
        Set-ModelCacheEntry 'RetinaFace/MNET_025_BIUBUG6' -Pinned $true -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotCached,*'
    }
}

Describe 'Clear-ModelCache on a read-only cache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'clean-ro'
        $script:Disk = Join-Path $Sandbox.Root 'ro-disk'
        $null = New-Item -ItemType Directory -Path $Disk
        # A real file system remounted read-only, which even root cannot write; CI runs as root and must run this.
        $script:WhyNot = if (-not $IsLinux) { 'it needs Linux to mount a tmpfs' }
            elseif ((id -u) -ne '0') { 'it needs root to mount a tmpfs' }
            else { $null = & mount -t tmpfs -o size=16m tmpfs $Disk 2>&1; if ($LASTEXITCODE) { 'mount -t tmpfs failed' } }
    }

    AfterEach {
        if (-not $WhyNot) { & umount -l $Disk }
    }

    It 'says CacheRootNotWritable for each entry at once, not a lock held by another process (<Form>)' -ForEach @(
        @{ Form = 'piped entries'; Clear = { Get-ModelCache -CachePath $Disk | Clear-ModelCache -Confirm:$false -ErrorVariable script:failed -ErrorAction SilentlyContinue } }
        @{ Form = 'names'; Clear = { Clear-ModelCache -Name '*' -CachePath $Disk -Confirm:$false -ErrorVariable script:failed -ErrorAction SilentlyContinue } }
    ) {
        if ($WhyNot) { Set-ItResult -Skipped -Because $WhyNot; return }
        $null = Save-Model $Yolo, $Slim, $Rfb -CachePath $Disk
        & mount -o remount,ro $Disk
        $LASTEXITCODE | Should -Be 0

        $script:failed = $null
        $clock = [Diagnostics.Stopwatch]::StartNew()
        & $Clear
        $clock.Stop()

        $clock.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'nothing is to be waited for'
        @($failed).Count | Should -Be 3
        foreach ($record in $failed) {
            ($record.FullyQualifiedErrorId -split ',')[0] | Should -Be 'CacheRootNotWritable'
            "$($record.CategoryInfo.Category)" | Should -Be 'PermissionDenied'
            $record.Exception.Message | Should -Not -Match 'another ModelCache process'
            $record.Exception.Message | Should -Match ([regex]::Escape($Disk))
        }
        @(Get-ModelCache -CachePath $Disk).Count | Should -Be 3
    }
}

Describe 'Quotas' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'quota'
    }

    It 'Save-Model -MaxSize evicts least recently used entries, never the pinned or the one just saved' {
        $null = Save-Model $Yolo, $Slim, $Rfb, 'SCRFD/SCRFD_500M_KPS_CV'
        Set-EntryAge $Slim -SavedDaysAgo 9 -UsedDaysAgo 9
        Set-EntryAge 'SCRFD/SCRFD_500M_KPS_CV' -SavedDaysAgo 8 -UsedDaysAgo 8
        Set-EntryAge $Rfb -SavedDaysAgo 5 -UsedDaysAgo 5
        Set-EntryAge $Yolo -SavedDaysAgo 1 -UsedDaysAgo 1
        Set-ModelCacheEntry $Slim -Pinned $true
        # Room for the new model, the pinned one and the newest other: SCRFD (older) and RFB go, in that order.
        $max = $Sizes[$RetinaFace] + $Sizes[$Slim] + $Sizes[$Yolo]
        $out = Save-Model $RetinaFace -MaxSize $max -Verbose -WarningVariable warned -WarningAction SilentlyContinue 4>&1
        $entries = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $entries.Count | Should -Be 1
        $entries[0].PSObject.TypeNames | Should -Contain $TypeNames.CacheEntry
        $evictions = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and "$_" -like 'Evicted*' } | ForEach-Object { "$_" })
        $evictions.Count | Should -Be 2
        $evictions[0] | Should -BeLike 'Evicted SCRFD/SCRFD_500M_KPS_CV (*) to stay under MaxSize*'
        $evictions[1] | Should -BeLike "Evicted $Rfb *"
        "$warned" | Should -Match 'Evicted 2 least recently used models'
        Get-CachedNames | Should -Be @($RetinaFace, $Slim, $Yolo)
    }

    It 'takes the quota from Set-ModelCacheQuota, and never evicts what the last sync listed' {
        $null = Save-Model $Yolo, $Slim
        Set-EntryAge $Yolo -SavedDaysAgo 9 -UsedDaysAgo 9
        $manifest = Join-Path $Sandbox.Root 'models.json'
        @{ formatVersion = 1; models = @($Yolo) } | ConvertTo-Json | Set-Content -LiteralPath $manifest
        $null = Sync-ModelCache $manifest
        (Get-Content -LiteralPath (Join-Path $Sandbox.Cache 'lastSync.json') -Raw | ConvertFrom-Json).models | Should -Be @($Yolo)
        $quota = Set-ModelCacheQuota -MaxSize ($Sizes[$Yolo] + $Sizes[$Rfb]) -PassThru
        $quota.MaxSize | Should -Be ($Sizes[$Yolo] + $Sizes[$Rfb])
        $quota.Source | Should -BeLike 'Set-ModelCacheQuota -Scope CurrentUser*'
        (Get-Content -LiteralPath (Join-Path $Sandbox.Config 'modelcache/settings.json') -Raw | ConvertFrom-Json).maxSize | Should -Be $quota.MaxSize
        $null = Save-Model $Rfb -WarningAction SilentlyContinue
        Get-CachedNames | Should -Be @($Rfb, $Yolo) -Because 'Slim was the only entry neither synced nor just saved'
        Set-ModelCacheQuota -Reset
        (Set-ModelCacheQuota -MaxSize 1GB -Scope AllUsers -PassThru).Source | Should -BeLike 'Set-ModelCacheQuota -Scope AllUsers*'
        Set-ModelCacheQuota -Reset -Scope AllUsers
    }

    It 'refuses a model bigger than the quota before downloading it (QuotaTooSmall)' {
        Save-Model $Yolo -MaxSize 1000 -ErrorVariable failed -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'QuotaTooSmall,*'
        "$($failed[0].CategoryInfo.Category)" | Should -Be 'InvalidOperation'
        $failed[0].ErrorDetails.RecommendedAction | Should -Match 'Set-ModelCacheQuota'
        Test-Path -LiteralPath (Join-Path $Sandbox.Cache 'models/YOLOv8Face') | Should -BeFalse
    }

    It 'Sync-ModelCache reports a manifest bigger than the quota, keeps it whole and evicts the rest' {
        $null = Save-Model $Slim
        Set-ModelCacheQuota -MaxSize 1MB
        $manifest = Join-Path $Sandbox.Root 'models.json'
        @{ formatVersion = 1; models = @($Yolo, $Rfb) } | ConvertTo-Json | Set-Content -LiteralPath $manifest
        $summary = Sync-ModelCache $manifest -WarningVariable warned -WarningAction SilentlyContinue
        $summary.QuotaExceeded | Should -BeTrue
        $summary.ManifestBytes | Should -Be ($Sizes[$Yolo] + $Sizes[$Rfb])
        $summary.Evicted | Should -Be 1
        "$warned" | Should -Match 'more than the cache''s MaxSize'
        Get-CachedNames | Should -Be @($Rfb, $Yolo)
        Set-ModelCacheQuota -Reset
        (Sync-ModelCache $manifest).QuotaExceeded | Should -BeFalse
    }
}
