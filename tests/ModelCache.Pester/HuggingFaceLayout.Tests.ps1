# -Layout HuggingFace and Save-Model -HuggingFaceRepo: a hub cache built by hand (blobs/<sha256>,
# refs/main, snapshots/<commit>/<path> as relative links, or copies), listed, verified, cleared,
# tampered with; saving offline from it, and online from a loopback stub of the hub's resolve endpoint.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:C1 = '1111111111111111111111111111111111111111'
    $script:C2 = '2222222222222222222222222222222222222222'

    # Two revisions of acme/tiny sharing config.json's blob; main → C1, v2 → C2.
    function New-TwoRevisionCache {
        param([string] $Root)
        $first = New-TestHubRepo -Root $Root -Repo acme/tiny -Commit $C1 -Files ([ordered]@{ 'config.json' = '{"hidden":8}'; 'onnx/model.onnx' = 'weights of revision one' })
        $second = New-TestHubRepo -Root $Root -Repo acme/tiny -Commit $C2 -Files ([ordered]@{ 'config.json' = '{"hidden":8}'; 'onnx/model.onnx' = 'weights of revision two!' }) -Ref v2
        [pscustomobject]@{ Folder = $first.Folder; First = $first; Second = $second }
    }

    function Get-TreeState {
        param([string] $Path)
        Get-ChildItem -LiteralPath $Path -Recurse -Force | Sort-Object FullName | ForEach-Object { "$($_.FullName)|$($_.Length)|$($_.LinkTarget)" }
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Get-ModelCache -Layout HuggingFace' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hub'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
    }

    It 'lists every file of every revision from the default root (HF_HOME/hub), with refs, sizes and blob ids' {
        $entries = @(Get-ModelCache -Layout HuggingFace)
        $entries.Count | Should -Be 4
        $entries | ForEach-Object { $_ | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubCacheEntry' }
        $main = $entries | Where-Object { $_.Revision -eq $C1 -and $_.FilePath -eq 'onnx/model.onnx' }
        $main.Repo | Should -Be 'acme/tiny'
        $main.Refs | Should -Be @('main')
        $main.Size | Should -Be ([Text.Encoding]::UTF8.GetByteCount('weights of revision one'))
        $main.BlobId | Should -Be $Repo.First.Blobs['onnx/model.onnx']
        $main.IsLink | Should -BeTrue
        @($entries | Where-Object Revision -EQ $C2)[0].Refs | Should -Be @('v2')
    }

    It 'selects by repo or entry-name wildcard, and -Path names another root' {
        $other = Join-Path $Sandbox.Root 'other-hub'
        $null = New-TestHubRepo -Root $other -Repo acme/other -Commit $C1 -Files @{ 'a.txt' = 'a' }
        @(Get-ModelCache -Layout HuggingFace -Name 'acme/t*').Count | Should -Be 4
        @(Get-ModelCache -Layout HuggingFace -Name '*:config.json').Count | Should -Be 2
        @(Get-ModelCache -Layout HuggingFace -Name acme/tiny).Count | Should -Be 4
        $listed = @(Get-ModelCache -Layout HuggingFace -CachePath $other)
        $listed.Repo | Should -Be @('acme/other')
        $listed[0].CacheRoot | Should -Be $other
    }

    It 'reports a plain name that is not cached as HubRepoNotCached' {
        $null = Get-ModelCache -Layout HuggingFace -Name acme/absent -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HubRepoNotCached,*'
        "$($failures[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
    }

    It 'lists a snapshot file that is a copy, not a link' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/copied -Commit $C1 -Files @{ 'model.bin' = 'copied bytes' } -Copy
        $entry = Get-ModelCache -Layout HuggingFace -Name acme/copied
        $entry.IsLink | Should -BeFalse
        $entry.BlobId | Should -BeNullOrEmpty
        (Test-ModelHash -InputObject $entry).Status | Should -Be 'Valid'
    }

    It '-Summary sums the hub cache up: files, repos, bytes (each blob once) and a health verdict' {
        $summary = Get-ModelCache -Layout HuggingFace -Summary
        $summary | Get-TypeName | Should -Be 'ModelCache.Store.CacheSummary'
        "$($summary.Layout)" | Should -Be 'HuggingFace'
        $summary.Root | Should -Be $Sandbox.HubCache
        $summary.EntryCount | Should -Be 4
        # config.json's blob is shared by both revisions: 3 blobs on disk.
        $summary.FileCount | Should -Be 3
        $bytes = [Text.Encoding]::UTF8.GetByteCount('{"hidden":8}') + [Text.Encoding]::UTF8.GetByteCount('weights of revision one') + [Text.Encoding]::UTF8.GetByteCount('weights of revision two!')
        $summary.TotalBytes | Should -Be $bytes
        $summary.ByFamily['acme/tiny'] | Should -Be 4
        "$($summary.Health)" | Should -Be 'Good'
        (Get-ModelCache -Layout HuggingFace -Summary -SizeThreshold 10).Health | Should -Be 'Large'
    }

    It '-Verify hashes every hub file, writes the files, and a HashMismatch error for a corrupt blob' {
        $blob = Join-Path $Repo.Folder "blobs/$($Repo.First.Blobs['onnx/model.onnx'])"
        [IO.File]::WriteAllText($blob, 'weights of revision 0ne')
        $verified = @(Get-ModelCache -Layout HuggingFace -Verify -ErrorVariable failures -ErrorAction SilentlyContinue)
        $verified.Count | Should -Be 4
        $verified | ForEach-Object { $_ | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubCacheEntry' }
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*Save-Model -HuggingFaceRepo acme/tiny*'
    }

    It 'pipes hub files to Test-ModelHash and Clear-ModelCache by -InputObject, the cached-file type every layout shares' {
        foreach ($cmdlet in 'Test-ModelHash', 'Clear-ModelCache', 'Export-ModelCache') {
            $parameter = (Get-Command $cmdlet).Parameters['InputObject']
            $parameter.ParameterType.GetElementType().FullName | Should -Be 'ModelCache.Store.CachedFile'
            (Get-Command $cmdlet).Parameters.Keys | Should -Not -Contain 'HubEntry'
        }

        $entry = Get-ModelCache -Layout HuggingFace -Name "acme/tiny@$C1`:config.json"
        (Test-ModelHash -InputObject $entry).Status | Should -Be 'Valid'
        ($entry | Test-ModelHash).Status | Should -Be 'Valid'
        Clear-ModelCache -InputObject $entry -Confirm:$false
        @(Get-ModelCache -Layout HuggingFace).Revision | Sort-Object -Unique | Should -Be $C2
    }

    It 'shows Repo, Revision (short, with refs), Size and FilePath in 80 columns' {
        $lines = (Get-ModelCache -Layout HuggingFace | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines[0] -split '\s+' | Should -Be @('Repo', 'Revision', 'Size', 'FilePath')
        $lines | Should -Contain ($lines | Where-Object { $_ -match '^acme/tiny\s+11111111 \(main\)\s+23 B onnx/model\.onnx$' })
        @($lines | Where-Object { $_ -match '22222222 \(v2\)' }).Count | Should -Be 2
    }

    It 'refuses a snapshot link that points outside the cache: a HubCacheLinkSkipped error with the path, the rest listed, nothing outside touched' {
        $outside = Join-Path $Sandbox.Root 'secret.txt'
        Set-Content -LiteralPath $outside -Value 'not yours' -NoNewline
        $before = Get-TreeState $Sandbox.Root | Where-Object { $_ -notlike "*$([IO.Path]::DirectorySeparatorChar)hf*" }
        $hostile = Join-Path $Repo.Folder "snapshots/$C1/stolen.txt"
        $null = [IO.File]::CreateSymbolicLink($hostile, '../../../../../secret.txt')

        $entries = @(Get-ModelCache -Layout HuggingFace -ErrorVariable failures -ErrorAction SilentlyContinue)
        $entries.Count | Should -Be 4
        $entries.FilePath | Should -Not -Contain 'stolen.txt'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'CacheFolderIsLink,*'
        "$($failures[0].CategoryInfo.Category)" | Should -Be 'SecurityError'
        $failures[0].TargetObject | Should -Be $hostile
        $failures[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty

        # Verifying and clearing the whole repo leave the target alone; only the link goes.
        $null = Test-ModelHash -Layout HuggingFace -ErrorAction SilentlyContinue
        Clear-ModelCache -Layout HuggingFace -Name acme/tiny -Confirm:$false -ErrorAction SilentlyContinue
        Test-Path -LiteralPath $Repo.Folder | Should -BeFalse
        Get-Content -LiteralPath $outside -Raw | Should -Be 'not yours'
        Get-TreeState $Sandbox.Root | Where-Object { $_ -notlike "*$([IO.Path]::DirectorySeparatorChar)hf*" } | Should -Be $before
    }
}

Describe 'Test-ModelHash on a hub cache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hubhash'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
    }

    It 'verifies piped entries against their blob names' {
        $results = @(Get-ModelCache -Layout HuggingFace | Test-ModelHash)
        $results.Count | Should -Be 4
        $results | ForEach-Object { $_ | Get-TypeName | Should -Be $TypeNames.HashResult; "$($_.Status)" | Should -Be 'Valid' }
        $results[0].Name | Should -BeLike "acme/tiny@$C1`:*"
        Get-ModelCache -Layout HuggingFace | Test-ModelHash -Quiet | Should -BeTrue
    }

    It 'reports a corrupted blob as Mismatch with a HashMismatch error, and -Quiet says $false' {
        $blob = Join-Path $Repo.Folder "blobs/$($Repo.First.Blobs['onnx/model.onnx'])"
        [IO.File]::WriteAllText($blob, 'weights of revision 0ne')   # same size, one byte flipped
        $results = @(Get-ModelCache -Layout HuggingFace | Test-ModelHash -ErrorVariable failures -ErrorAction SilentlyContinue)
        $bad = $results | Where-Object Status -NE 'Valid'
        @($bad).Count | Should -Be 1
        "$($bad.Status)" | Should -Be 'Mismatch'
        $bad.Path | Should -Be $blob
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HashMismatch,*'
        $failures[0].TargetObject.Name | Should -Be "acme/tiny@$C1`:onnx/model.onnx"
        $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*Save-Model -HuggingFaceRepo acme/tiny*'
        Test-ModelHash -Layout HuggingFace -Quiet -ErrorAction SilentlyContinue | Should -BeFalse
    }

    It 'checks the whole hub cache, or a wildcard, with -Layout HuggingFace; a missing blob is ModelFileMissing' {
        @(Test-ModelHash -Layout HuggingFace).Count | Should -Be 4
        @(Test-ModelHash -Layout HuggingFace -Name '*:config.json').Count | Should -Be 2
        $entry = Get-ModelCache -Layout HuggingFace -Name "acme/tiny@$C2`:onnx/model.onnx"
        Remove-Item -LiteralPath (Join-Path $Repo.Folder "blobs/$($entry.BlobId)")
        $result = Test-ModelHash -InputObject $entry -ErrorVariable failures -ErrorAction SilentlyContinue
        "$($result.Status)" | Should -Be 'Missing'
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ModelFileMissing,*'
    }
}

Describe 'Clear-ModelCache -Layout HuggingFace' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hubclear'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
        $script:Shared = Join-Path $Repo.Folder "blobs/$($Repo.First.Blobs['config.json'])"
    }

    It '-WhatIf shows the bytes that would go and changes nothing' {
        $before = Get-TreeState $Sandbox.HubCache
        # What-if messages go to the host: run in a child pwsh (it inherits HF_HOME) and read its console.
        $script = Join-Path $Sandbox.Root 'whatif.ps1'
        Set-Content -LiteralPath $script -Value @"
Import-Module '$ModuleUnderTest'
Clear-ModelCache -Layout HuggingFace -Name acme/tiny -Revision v2 -WhatIf
"@
        $child = Invoke-ChildPwsh $script
        $child.ExitCode | Should -Be 0
        # Only revision two's weights blob goes: config.json's blob is shared with main.
        $bytes = [Text.Encoding]::UTF8.GetByteCount('weights of revision two!')
        ($child.Output -join '') | Should -Match ([regex]::Escape("What if: Performing the operation ""Remove from the Hugging Face hub cache"" on target ""acme/tiny@222222222222, v2 (2 files, 1 blobs, $bytes B)"))
        Get-TreeState $Sandbox.HubCache | Should -Be $before
    }

    It 'removes one revision by ref, keeping the blob the other revision still links to' {
        $removed = Clear-ModelCache -Layout HuggingFace -Name acme/tiny -Revision v2 -Confirm:$false -PassThru
        $removed | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubRemovalResult'
        $removed.BytesFreed | Should -Be ([Text.Encoding]::UTF8.GetByteCount('weights of revision two!'))
        Test-Path -LiteralPath (Join-Path $Repo.Folder "snapshots/$C2") | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $Repo.Folder 'refs/v2') | Should -BeFalse
        Test-Path -LiteralPath $Shared | Should -BeTrue
        $left = @(Get-ModelCache -Layout HuggingFace)
        $left.Revision | Sort-Object -Unique | Should -Be $C1
        Get-ModelCache -Layout HuggingFace | Test-ModelHash -Quiet | Should -BeTrue
    }

    It 'removes the revisions of piped entries, grouped per repo' {
        Get-ModelCache -Layout HuggingFace -Name "acme/tiny@$C1`:config.json" | Clear-ModelCache -Confirm:$false
        @(Get-ModelCache -Layout HuggingFace).Revision | Sort-Object -Unique | Should -Be $C2
        Test-Path -LiteralPath $Shared | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $Repo.Folder 'refs/main') | Should -BeFalse
    }

    It 'removes a whole repo by name, and piping every entry removes it too' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/keep -Commit $C1 -Files @{ 'k.txt' = 'k' }
        Clear-ModelCache -Layout HuggingFace -Name acme/tiny -Confirm:$false
        Test-Path -LiteralPath $Repo.Folder | Should -BeFalse
        @(Get-ModelCache -Layout HuggingFace).Repo | Should -Be @('acme/keep')
        Get-ModelCache -Layout HuggingFace | Clear-ModelCache -Confirm:$false
        @(Get-ModelCache -Layout HuggingFace).Count | Should -Be 0
    }

    It 'reports an uncached repo or revision and a bad name with their own ids' {
        Clear-ModelCache -Layout HuggingFace -Name acme/absent, 'not a repo', acme/tiny -Revision nope -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Should -Be @('HubRepoNotCached', 'HubRepoNameInvalid', 'HubRevisionNotCached')
        @(Get-ModelCache -Layout HuggingFace).Count | Should -Be 4
    }

    It '-Revision without -Layout HuggingFace is refused' {
        { Clear-ModelCache -Name $Yolo -Revision main -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'RevisionRequiresHubLayout,*'
    }

    It '-All removes every repo (with -Force), leaving other folders alone' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo other/one -Commit $C1 -Files @{ 'x' = 'x' }
        $stranger = Join-Path $Sandbox.HubCache 'not-a-repo'
        $null = New-Item -ItemType Directory -Path $stranger
        Clear-ModelCache -All -Layout HuggingFace -WhatIf
        @(Get-ModelCache -Layout HuggingFace -ErrorAction SilentlyContinue).Count | Should -Be 5
        $removed = @(Clear-ModelCache -All -Layout HuggingFace -Force -PassThru)
        $removed.Count | Should -Be 2
        @(Get-ModelCache -Layout HuggingFace -ErrorAction SilentlyContinue).Count | Should -Be 0
        Test-Path -LiteralPath $stranger | Should -BeTrue
    }
}

Describe 'Get-ModelCache -Layout HuggingFace -Repository (hf cache scan)' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hubrepos'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
        $script:C3 = '3333333333333333333333333333333333333333'
    }

    It 'writes one object per repo: type, id, size on disk with a shared blob counted once, files, revisions with refs, times' {
        $scanned = Get-ModelCache -Layout HuggingFace -Repository
        $scanned | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubCacheRepo'
        $scanned.Repo | Should -Be 'acme/tiny'
        "$($scanned.RepoType)" | Should -Be 'Model'
        $bytes = [Text.Encoding]::UTF8.GetByteCount('{"hidden":8}') + [Text.Encoding]::UTF8.GetByteCount('weights of revision one') + [Text.Encoding]::UTF8.GetByteCount('weights of revision two!')
        $scanned.SizeOnDisk | Should -Be $bytes
        $scanned.FileCount | Should -Be 3
        $scanned.Revisions.Commit | Should -Be @($C1, $C2)
        $scanned.Revisions[0].Refs | Should -Be @('main')
        $scanned.Revisions[1].Refs | Should -Be @('v2')
        $scanned.Revisions[1].FileCount | Should -Be 2
        $scanned.Revisions[1].SizeOnDisk | Should -Be ([Text.Encoding]::UTF8.GetByteCount('{"hidden":8}') + [Text.Encoding]::UTF8.GetByteCount('weights of revision two!'))
        $scanned.LastModified | Should -BeOfType [DateTimeOffset]
        $scanned.LastAccessed | Should -BeOfType [DateTimeOffset]
        $scanned.RepoPath | Should -Be $Repo.Folder
        # The summary agrees with the repos on the bytes.
        (Get-ModelCache -Layout HuggingFace -Summary).TotalBytes | Should -Be $bytes
    }

    It 'selects repos by -Name (wildcards, or piped), reports an uncached plain name, and refuses another layout' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo other/thing -Commit $C1 -Files @{ 'a.txt' = 'a' }
        @(Get-ModelCache -Layout HuggingFace -Repository).Repo | Should -Be @('acme/tiny', 'other/thing')
        @(Get-ModelCache -Layout HuggingFace -Repository -Name 'oth*').Repo | Should -Be @('other/thing')
        @('acme/tiny', 'acme/tiny' | Get-ModelCache -Layout HuggingFace -Repository).Count | Should -Be 1
        # Piped hub files stand for their repo, each repo written once.
        @(Get-ModelCache -Layout HuggingFace -Name 'acme/*' | Get-ModelCache -Layout HuggingFace -Repository).Repo | Should -Be @('acme/tiny')
        $null = Get-ModelCache -Layout HuggingFace -Repository acme/absent -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HubRepoNotCached,*'
        { Get-ModelCache -Repository -ErrorAction Stop } | Should -Throw -ErrorId 'LayoutNotSupported,*'
    }

    It 'shows Repo (datasets/ or spaces/ before a repo of that type), Size, Files, Accessed and Refs (with the detached count) in 80 columns' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/tiny -Commit $C3 -Files @{ 'x.bin' = 'x' } -Ref @()
        $lines = (Get-ModelCache -Layout HuggingFace -Repository | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines[0] -split '\s+' | Should -Be @('Repo', 'Size', 'Files', 'Accessed', 'Refs')
        $lines[3] | Should -Match '^\s+\+1 detached$'
        ($lines[2..3] -join ' ') -replace '\s+', ' ' | Should -Match '^acme/tiny 60 B 4 \d{4}-\d\d-\d\d main,v2 \+1 detached$' -Because 'the detached count goes on a line under the refs'
        $revisions = ((Get-ModelCache -Layout HuggingFace -Repository).Revisions | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $revisions | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $revisions[0] -split '\s+' | Should -Be @('Repo', 'Commit', 'Size', 'Files', 'Modified', 'Refs')
        $revisions | Should -Contain ($revisions | Where-Object { $_ -match '^acme/tiny\s+33333333\s+1 B\s+1 \d{4}-\d\d-\d\d \(detached\)$' })
    }
}

Describe 'Clear-ModelCache -Layout HuggingFace -Detached (hf cache prune)' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hubprune'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
        $script:C3 = '3333333333333333333333333333333333333333'
        $script:C4 = '4444444444444444444444444444444444444444'
        # Two detached revisions: C3 shares config.json's blob with main, C4 has a blob of its own.
        $script:Third = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/tiny -Commit $C3 -Files ([ordered]@{ 'config.json' = '{"hidden":8}'; 'three.bin' = 'third revision' }) -Ref @()
        $script:Fourth = New-TestHubRepo -Root $Sandbox.HubCache -Repo acme/tiny -Commit $C4 -Files @{ 'four.bin' = 'fourth revision!' } -Ref @()
    }

    It '-WhatIf names each detached revision with the bytes it would free, sums them up, and changes nothing' {
        $before = Get-TreeState $Sandbox.HubCache
        $script = Join-Path $Sandbox.Root 'whatif.ps1'
        Set-Content -LiteralPath $script -Value @"
Import-Module '$ModuleUnderTest'
Clear-ModelCache -Layout HuggingFace -Detached -WhatIf
"@
        $child = Invoke-ChildPwsh $script
        $child.ExitCode | Should -Be 0
        $text = $child.Output -join ''
        $three = [Text.Encoding]::UTF8.GetByteCount('third revision')
        $four = [Text.Encoding]::UTF8.GetByteCount('fourth revision!')
        $text | Should -Match ([regex]::Escape("on target ""acme/tiny@333333333333 (detached) (2 files, 1 blobs, $three B)"))
        $text | Should -Match ([regex]::Escape("on target ""acme/tiny@444444444444 (detached) (1 files, 1 blobs, $four B)"))
        $text | Should -Match ([regex]::Escape("would remove 2 entries ($($three + $four) bytes"))
        $text | Should -Not -Match '111111111111|222222222222'
        Get-TreeState $Sandbox.HubCache | Should -Be $before
    }

    It 'removes only the detached revisions, keeps the blob main still links to, and -PassThru says what went and what it freed' {
        $removed = @(Clear-ModelCache -Layout HuggingFace -Detached -Confirm:$false -PassThru)
        $removed | ForEach-Object { $_ | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubRemovalResult' }
        $removed.Revisions | Should -Be @($C3, $C4)
        $removed.Repo | Sort-Object -Unique | Should -Be 'acme/tiny'
        $removed[0].BytesFreed | Should -Be ([Text.Encoding]::UTF8.GetByteCount('third revision'))
        $removed[1].BytesFreed | Should -Be ([Text.Encoding]::UTF8.GetByteCount('fourth revision!'))
        @(Get-ModelCache -Layout HuggingFace).Revision | Sort-Object -Unique | Should -Be @($C1, $C2)
        Test-Path -LiteralPath (Join-Path $Repo.Folder "blobs/$($Third.Blobs['config.json'])") | Should -BeTrue
        Get-ModelCache -Layout HuggingFace | Test-ModelHash -Quiet | Should -BeTrue
        (Get-ModelCache -Layout HuggingFace -Repository).DetachedCount | Should -Be 0
        Clear-ModelCache -Layout HuggingFace -Detached -Confirm:$false -PassThru | Should -BeNullOrEmpty
    }

    It 'prunes only the repos -Name matches (or piped repos), and refuses another layout with LayoutNotSupported' {
        $null = New-TestHubRepo -Root $Sandbox.HubCache -Repo other/thing -Commit $C1 -Files @{ 'a.txt' = 'a' } -Ref @()
        Get-ModelCache -Layout HuggingFace -Repository -Name 'other/*' | Clear-ModelCache -Layout HuggingFace -Detached -Confirm:$false -ErrorAction Stop
        Test-Path -LiteralPath (Join-Path $Sandbox.HubCache 'models--other--thing') | Should -BeFalse -Because 'its only revision was detached: the repo goes, as hf cache prune removes it'
        @(Get-ModelCache -Layout HuggingFace).Revision | Sort-Object -Unique | Should -Be @($C1, $C2, $C3, $C4)
        { Clear-ModelCache -Detached -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'LayoutNotSupported,*'
    }

    It 'leaves a repo whose ref cannot be read (a FIFO) with HubRefsUnreadable, and never opens the FIFO' -Skip:$IsWindows {
        $fifo = Join-Path $Repo.Folder 'refs/release'
        & mkfifo $fifo
        $job = Start-ThreadJob -ArgumentList $ModuleUnderTest, $Sandbox.HubCache {
            param($Module, $Root)
            Import-Module $Module
            Clear-ModelCache -Layout HuggingFace -CachePath $Root -Detached -Confirm:$false -ErrorVariable failures -ErrorAction SilentlyContinue
            $failures
        }
        $failures = $job | Wait-Job -Timeout 60 | Receive-Job
        $job.State | Should -Be 'Completed' -Because 'a FIFO opened for reading would block'
        $job | Remove-Job -Force
        @($failures)[0].FullyQualifiedErrorId | Should -BeLike 'HubRefsUnreadable,*'
        @($failures)[0].TargetObject | Should -Be 'acme/tiny'
        @(Get-ModelCache -Layout HuggingFace -ErrorAction SilentlyContinue).Revision | Sort-Object -Unique | Should -Be @($C1, $C2, $C3, $C4)
    }
}

Describe 'Export-ModelCache / Import-ModelCache -Layout HuggingFace' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'hubbundle'
        $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
        $script:Other = Join-Path $Sandbox.Root 'offline-hub'
        $script:BundlePath = Join-Path $Sandbox.Root 'hub.zip'
    }

    It 'round-trips the hub cache: the other root lists the same entries, verifies, and a second import skips them all' {
        $exported = Export-ModelCache -Layout HuggingFace -Path $BundlePath
        $exported | Get-TypeName | Should -Be 'ModelCache.Bundles.BundleExportResult'
        $exported.Models.Count | Should -Be 4
        (Get-FileHash -LiteralPath $BundlePath).Hash | Should -Not -BeNullOrEmpty

        $imported = @(Import-ModelCache -Layout HuggingFace -LiteralPath $BundlePath -CachePath $Other)
        $imported.Count | Should -Be 4
        $imported | ForEach-Object { $_ | Get-TypeName | Should -Be 'ModelCache.Bundles.ModelImportResult' }
        # config.json's blob is shared by both revisions: placed once, then only linked.
        ($imported | Group-Object { "$($_.Status)" } -AsHashTable -AsString).Keys | Sort-Object | Should -Be @('Imported', 'Skipped')

        $describe = { process { "$($_.Name)|$($_.Size)|$($_.BlobId)|$($_.Refs -join ',')" } }
        $expected = @(Get-ModelCache -Layout HuggingFace | & $describe | Sort-Object)
        Get-ModelCache -Layout HuggingFace -CachePath $Other | & $describe | Sort-Object | Should -Be $expected
        (Test-ModelHash -Layout HuggingFace -CachePath $Other).Status | ForEach-Object { "$_" } | Should -Be @('Valid', 'Valid', 'Valid', 'Valid')

        $again = @(Import-ModelCache -Layout HuggingFace -LiteralPath $BundlePath -CachePath $Other)
        $again.Status | ForEach-Object { "$_" } | Sort-Object -Unique | Should -Be 'Skipped'
    }

    It 'exports what -Name selects, as Get-ModelCache -Layout HuggingFace does, into a folder' {
        $folder = Join-Path $Sandbox.Root 'hub-folder'
        $exported = Export-ModelCache -Layout HuggingFace -Name '*:config.json' -Path $folder
        $exported.Models | Should -Be @("acme/tiny@${C1}:config.json", "acme/tiny@${C2}:config.json")
        # One blob, stored once under its id, beside manifest.json.
        @(Get-ChildItem -LiteralPath $folder).Name | Sort-Object | Should -Be (@($Repo.First.Blobs['config.json'], 'manifest.json') | Sort-Object)
        $manifest = Get-Content -Raw -LiteralPath (Join-Path $folder manifest.json) | ConvertFrom-Json
        $manifest.formatVersion | Should -Be 1
        $hub = ($manifest.models | Where-Object { $_.hub.commit -eq $C1 }).hub
        $hub.repo | Should -Be 'acme/tiny'
        $hub.repoType | Should -Be 'model'
        $hub.path | Should -Be 'config.json'
        $hub.refs | Should -Be @('main')
    }

    It '-WhatIf writes nothing on either side' {
        Export-ModelCache -Layout HuggingFace -Path $BundlePath -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $BundlePath | Should -BeFalse
        $null = Export-ModelCache -Layout HuggingFace -Path $BundlePath
        Import-ModelCache -Layout HuggingFace -LiteralPath $BundlePath -CachePath $Other -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath $Other | Should -BeFalse
    }

    It 'refuses a hub bundle imported as a catalog bundle with BundleLayoutMismatch, and -AsMirror with LayoutNotSupported' {
        $null = Export-ModelCache -Layout HuggingFace -Path $BundlePath
        $native = Join-Path $Sandbox.Root 'native-root'
        $result = Import-ModelCache -LiteralPath $BundlePath -CachePath $native -ErrorVariable failures -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'BundleLayoutMismatch,*'
        $failures[0].Exception.Message | Should -BeLike '*Hugging Face*'
        @(Get-ChildItem -LiteralPath $native -Recurse -File -ErrorAction SilentlyContinue).Count | Should -Be 0

        { Export-ModelCache -Layout HuggingFace -AsMirror -Path (Join-Path $Sandbox.Root 'mirror') -ErrorAction Stop } |
            Should -Throw -ErrorId 'LayoutNotSupported,*'
    }

    It 'stops with HashMismatch and writes no bundle when a blob does not match its id' {
        [IO.File]::WriteAllText((Join-Path $Repo.Folder "blobs/$($Repo.First.Blobs['onnx/model.onnx'])"), 'tampered weights, same name')
        { Export-ModelCache -Layout HuggingFace -Path $BundlePath -ErrorAction Stop } | Should -Throw -ErrorId 'HashMismatch,*'
        Test-Path -LiteralPath $BundlePath | Should -BeFalse
        Test-Path -LiteralPath "$BundlePath.partial" | Should -BeFalse
    }
}

Describe 'Save-Model -HuggingFaceRepo' {
    Context 'offline (HF_HUB_OFFLINE=1, or -Offline), served from the cache' {
        BeforeEach {
            $script:Sandbox = Enter-ModelCacheSandbox 'hubsave'
            $script:Repo = New-TwoRevisionCache $Sandbox.HubCache
        }

        It 'serves cached files by ref → snapshot, with Source Cache, and pipes into Test-ModelHash' {
            $saved = @(Save-Model -HuggingFaceRepo acme/tiny -File config.json, onnx/model.onnx -Revision v2)
            $saved.Count | Should -Be 2
            $saved | ForEach-Object { $_ | Get-TypeName | Should -Be 'ModelCache.HuggingFace.HubCacheEntry' }
            $saved.Revision | Sort-Object -Unique | Should -Be $C2
            "$($saved[0].Source)" | Should -Be 'Cache'
            "$($saved[0].Transfer.Source)" | Should -Be 'Cache'
            ($saved | Test-ModelHash).Status | ForEach-Object { "$_" } | Should -Be @('Valid', 'Valid')
        }

        It 'reports a file that is not cached as HubFileNotAvailableOffline and saves the others' {
            $env:HF_HUB_OFFLINE = $null
            $saved = @(Save-Model -HuggingFaceRepo acme/tiny -File missing.bin, config.json -Offline -ErrorVariable failures -ErrorAction SilentlyContinue)
            $saved.FilePath | Should -Be @('config.json')
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'HubFileNotAvailableOffline,*'
            $failures[0].TargetObject | Should -Be 'missing.bin'
        }

        It 'refuses a bad repo id with HubRepoNameInvalid and -WhatIf saves nothing' {
            { Save-Model -HuggingFaceRepo '../etc' -File x -ErrorAction Stop } | Should -Throw -ErrorId 'HubRepoNameInvalid,*'
            Save-Model -HuggingFaceRepo acme/tiny -File config.json -WhatIf | Should -BeNullOrEmpty
        }
    }

    Context 'online, from a loopback stub of the resolve endpoint' {
        BeforeAll {
            $script:Body = [Text.Encoding]::UTF8.GetBytes('online weights, fetched once')
            $script:BodySha = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($Body)).ToLowerInvariant()
            $script:OnlineCommit = 'abcdefabcdefabcdefabcdefabcdefabcdefabcd'

            $probe = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
            $script:Endpoint = "http://127.0.0.1:$port"
            $script:Listener = [System.Net.HttpListener]::new()
            $Listener.Prefixes.Add("$Endpoint/")
            $Listener.Start()
            $script:Requests = [System.Collections.Concurrent.ConcurrentQueue[string]]::new()

            # The stub runs in its own runspace for at most two minutes, and stops when the listener closes.
            $script:Stub = [powershell]::Create()
            $null = $Stub.AddScript({
                param($Listener, $Body, $Sha, $Commit, $Requests)
                $deadline = [DateTime]::UtcNow.AddMinutes(2)
                while ($Listener.IsListening -and [DateTime]::UtcNow -lt $deadline) {
                    $pending = $Listener.GetContextAsync()
                    while (-not $pending.Wait(250)) { if (-not $Listener.IsListening -or [DateTime]::UtcNow -ge $deadline) { return } }
                    $context = $pending.Result
                    $Requests.Enqueue("$($context.Request.HttpMethod) $($context.Request.Url.AbsolutePath)")
                    $response = $context.Response
                    # The client resolves main, then fetches the bytes by the commit it resolved to.
                    if ($context.Request.Url.AbsolutePath -in "/acme/online/resolve/main/onnx/weights.bin", "/acme/online/resolve/$Commit/onnx/weights.bin") {
                        $response.Headers['X-Repo-Commit'] = $Commit
                        $response.Headers['X-Linked-Etag'] = '"' + $Sha + '"'
                        $response.Headers['X-Linked-Size'] = "$($Body.Length)"
                        $response.ContentLength64 = $Body.Length
                        if ($context.Request.HttpMethod -eq 'GET') { $response.OutputStream.Write($Body, 0, $Body.Length) }
                    }
                    else {
                        $response.StatusCode = 404
                        $response.Headers['X-Error-Code'] = 'EntryNotFound'
                    }
                    $response.Close()
                }
            }).AddArgument($Listener).AddArgument($Body).AddArgument($BodySha).AddArgument($OnlineCommit).AddArgument($Requests)
            $script:StubRun = $Stub.BeginInvoke()
        }

        AfterAll {
            $Listener.Stop()
            $Listener.Close()
            $null = $StubRun.AsyncWaitHandle.WaitOne(5000)
            $Stub.Dispose()
        }

        BeforeEach {
            $script:Sandbox = Enter-ModelCacheSandbox 'hubonline'
            $env:HF_HUB_OFFLINE = '0'
            $env:HF_ENDPOINT = $Endpoint
            $script:SavedNoProxy = $env:NO_PROXY
            $env:NO_PROXY = '127.0.0.1,localhost'
        }

        AfterEach {
            $env:NO_PROXY = $SavedNoProxy
        }

        It 'downloads into blobs/, snapshots/ (a relative link) and refs/main, then serves the next call from the cache' {
            $saved = Save-Model -HuggingFaceRepo acme/online -File onnx/weights.bin
            $saved.Revision | Should -Be $OnlineCommit
            $saved.BlobId | Should -Be $BodySha
            "$($saved.Source)" | Should -Be 'Upstream'
            $saved.Transfer.BytesTransferred | Should -Be $Body.Length
            $folder = Join-Path $Sandbox.HubCache 'models--acme--online'
            Get-Content -LiteralPath (Join-Path $folder 'refs/main') -Raw | Should -Be $OnlineCommit
            (Get-Item -LiteralPath (Join-Path $folder "snapshots/$OnlineCommit/onnx/weights.bin")).LinkTarget | Should -Be "../../../blobs/$BodySha"
            (Get-FileHash -LiteralPath (Join-Path $folder "blobs/$BodySha") -Algorithm SHA256).Hash | Should -Be $BodySha.ToUpperInvariant()
            ($saved | Test-ModelHash).Status | Should -Be 'Valid'

            $again = Save-Model -HuggingFaceRepo acme/online -File onnx/weights.bin
            "$($again.Source)" | Should -Be 'Cache'
            @($Requests.ToArray() | Where-Object { $_ -like 'GET *' }).Count | Should -Be 1
        }

        It 'copies instead of linking with HF_HUB_DISABLE_SYMLINKS=1, and reports a 404 with its own id' {
            $env:HF_HUB_DISABLE_SYMLINKS = '1'
            $saved = Save-Model -HuggingFaceRepo acme/online -File onnx/weights.bin, nope.bin -RetryCount 0 -ErrorVariable failures -ErrorAction SilentlyContinue
            $saved.IsLink | Should -BeFalse
            (Get-Item -LiteralPath $saved.SnapshotPath).LinkTarget | Should -BeNullOrEmpty
            $failures.Count | Should -Be 1
            $failures[0].FullyQualifiedErrorId | Should -BeLike 'HubEntryNotFound,*'
            $failures[0].TargetObject | Should -Be 'nope.bin'
        }
    }
}
