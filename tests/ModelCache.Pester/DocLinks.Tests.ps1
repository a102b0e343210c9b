# The user docs hold together: README.md and docs/*.md link only to files and headings that exist (GitHub's anchor
# rules), every guide is at most two links from README.md, README stays a front page, about_ModelCache lists exactly
# the exported cmdlets, every cmdlet's help links a guide, and no user doc names an internal type of the module.
# Pure file checks: nothing is imported or run.

BeforeDiscovery {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    $script:DocFiles = @(
        @{ File = 'README.md' }
        Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'docs') -Filter *.md | Sort-Object Name | ForEach-Object { @{ File = "docs/$($_.Name)" } }
    )
    $script:UserDocs = @($DocFiles | Where-Object { $_.File -ne 'docs/architecture.md' })
    $script:HelpPages = @(Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'module/help') -Filter *-*.md | Sort-Object Name | ForEach-Object { @{ File = "module/help/$($_.Name)" } })
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath

    # Lines outside fenced code blocks, with their line numbers.
    function Get-ProseLine([string] $Path) {
        $fence = $false
        $number = 0
        foreach ($line in [IO.File]::ReadAllLines($Path)) {
            $number++
            if ($line -match '^\s*```') { $fence = -not $fence; continue }
            if (-not $fence) { [pscustomobject]@{ Number = $number; Text = $line } }
        }
    }

    # GitHub's heading anchors: lower case; inline code marks, link targets and punctuation other than '-' and '_'
    # dropped; spaces become '-'; a repeated slug gets -1, -2, ...
    function Get-Anchor([string] $Path) {
        $seen = @{}
        foreach ($line in Get-ProseLine $Path) {
            if ($line.Text -notmatch '^#{1,6}\s+(.+?)\s*#*\s*$') { continue }
            $text = $Matches[1] -replace '\[([^\]]*)\]\([^)]*\)', '$1'
            $slug = ($text.ToLowerInvariant() -replace '[^\p{L}\p{Nd}\p{Mn}\s_-]', '') -replace ' ', '-'
            if ($seen.ContainsKey($slug)) { $seen[$slug]++; "$slug-$($seen[$slug])" } else { $seen[$slug] = 0; $slug }
        }
    }

    # Markdown link targets outside code (fences and inline code spans): [text](target "title").
    function Get-LinkTarget([string] $Path) {
        foreach ($line in Get-ProseLine $Path) {
            $text = $line.Text -replace '`[^`]*`', ''
            foreach ($match in [regex]::Matches($text, '\]\((?<target>[^)\s]*)(?:\s+"[^"]*")?\)')) {
                [pscustomobject]@{ Line = $line.Number; Target = $match.Groups['target'].Value }
            }
        }
    }

    # Where a relative link from $From points: @{ Path; Anchor }, or $null for a link that leaves the repository's files.
    function Resolve-DocLink([string] $From, [string] $Target) {
        if ($Target -eq '' -or $Target -match '^[a-z][a-z0-9+.-]*:') { return $null }
        $file, $anchor = $Target -split '#', 2
        $path = if ($file) { [IO.Path]::GetFullPath((Join-Path (Split-Path -Parent $From) ([uri]::UnescapeDataString($file)))) } else { $From }
        @{ Path = $path; Anchor = $anchor }
    }

    # Internal names: every type declared under src/ (class, record, struct, interface, enum) and every namespace or
    # assembly name. A type name that is also a cmdlet noun (ModelCatalog, ModelCacheEntry) or a single word (Face,
    # Bundle) is ordinary vocabulary and allowed.
    $sources = Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'src') -Recurse -Filter *.cs | Where-Object FullName -notmatch '[\\/](obj|bin)[\\/]'
    $script:Declared = [Collections.Generic.HashSet[string]]::new([StringComparer]::Ordinal)
    $script:Namespaces = [Collections.Generic.HashSet[string]]::new([StringComparer]::Ordinal)
    foreach ($source in $sources) {
        $code = [IO.File]::ReadAllText($source.FullName)
        foreach ($m in [regex]::Matches($code, '\b(?:class|record|struct|interface|enum)\s+([A-Z]\w*)')) { $null = $Declared.Add($m.Groups[1].Value) }
        foreach ($m in [regex]::Matches($code, '(?m)^namespace\s+([\w.]+)')) { $null = $Namespaces.Add($m.Groups[1].Value) }
    }
    Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'src') -Directory | ForEach-Object { $null = $Namespaces.Add($_.Name) }
    $manifest = Import-PowerShellDataFile (Join-Path $RepoRoot 'ModelCache.psd1')
    $script:Exported = @($manifest.CmdletsToExport)
    $nouns = @($Exported | ForEach-Object { ($_ -split '-', 2)[1] })
    # Words users type that happen to be type names too: 'FaceDetection' is a -Task spelling Import-Model accepts.
    $typedByUsers = @('FaceDetection')
    $script:InternalTypes = [Collections.Generic.HashSet[string]]::new([StringComparer]::Ordinal)
    foreach ($name in $Declared) {
        # Two or more capitalised parts (CacheStore, IFileSystemNative), and not a cmdlet noun.
        if ($name -cmatch '^I?[A-Z][a-z0-9]+([A-Z][A-Za-z0-9]*)+$' -and $name -notin $nouns -and $name -notin $typedByUsers) { $null = $InternalTypes.Add($name) }
    }

    $script:Guides = @(Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'docs') -Filter *.md | ForEach-Object { "docs/$($_.Name)" })
}

Describe 'Links in <File>' -ForEach $DocFiles {
    It 'every relative link and #anchor resolves' {
        $from = Join-Path $RepoRoot $File
        $broken = foreach ($link in Get-LinkTarget $from) {
            $to = Resolve-DocLink $from $link.Target
            if (-not $to) { continue }
            if (-not (Test-Path -LiteralPath $to.Path)) { "line $($link.Line): $($link.Target) (no such file)"; continue }
            if ($to.Anchor -and $to.Path -like '*.md' -and $to.Anchor -cnotin @(Get-Anchor $to.Path)) {
                "line $($link.Line): $($link.Target) (no such heading)"
            }
        }
        @($broken) | Should -BeNullOrEmpty
    }
}

Describe 'The front page' {
    It 'README.md is at most 320 lines' {
        @([IO.File]::ReadAllLines((Join-Path $RepoRoot 'README.md'))).Count | Should -BeLessOrEqual 320
    }

    It 'every docs/*.md is at most two links from README.md' {
        $readme = [IO.Path]::GetFullPath((Join-Path $RepoRoot 'README.md'))
        $reached = @{ $readme = 0 }
        $frontier = @($readme)
        foreach ($hop in 1, 2) {
            $frontier = @(foreach ($page in $frontier) {
                foreach ($link in Get-LinkTarget $page) {
                    $to = Resolve-DocLink $page $link.Target
                    if ($to -and $to.Path -like '*.md' -and (Test-Path -LiteralPath $to.Path) -and -not $reached.ContainsKey($to.Path)) {
                        $reached[$to.Path] = $hop
                        $to.Path
                    }
                }
            })
        }
        $missing = @($Guides | Where-Object { -not $reached.ContainsKey([IO.Path]::GetFullPath((Join-Path $RepoRoot $_))) })
        $missing | Should -BeNullOrEmpty
    }
}

Describe 'about_ModelCache' {
    BeforeAll {
        $script:About = [IO.File]::ReadAllLines((Join-Path $RepoRoot 'module/en-US/about_ModelCache.help.txt'))
    }

    It 'lists exactly the cmdlets the manifest exports, one line each' {
        $start = [Array]::IndexOf($About, ($About | Where-Object { $_.Trim() -eq 'The cmdlets:' } | Select-Object -First 1))
        $start | Should -BeGreaterThan 0 -Because "the list starts after a line 'The cmdlets:'"
        # The list runs from 'The cmdlets:' to the first line that is neither blank nor a cmdlet.
        $listed = [Collections.Generic.List[string]]::new()
        foreach ($line in $About[($start + 1)..($About.Count - 1)]) {
            if ($line -match '^\s+([A-Z][a-z]+-[A-Za-z]+)\s{2,}\S') { $listed.Add($Matches[1]) }
            elseif ($line.Trim()) { break }
        }
        @($listed | Group-Object | Where-Object Count -gt 1 | ForEach-Object Name) | Should -BeNullOrEmpty -Because 'each cmdlet is listed once'
        @($listed | Sort-Object) | Should -Be @($Exported | Sort-Object)
    }

    It 'has a GUIDES section naming guides that exist' {
        $text = $About -join "`n"
        $section = [regex]::Match($text, '(?ms)^GUIDES\s*$(.*?)(?=^\S|\z)')
        $section.Success | Should -BeTrue
        $named = @([regex]::Matches($section.Groups[1].Value, 'docs/[\w-]+\.md') | ForEach-Object Value)
        $named.Count | Should -BeGreaterThan 5
        @($named | Where-Object { $_ -notin $Guides }) | Should -BeNullOrEmpty
    }
}

Describe 'Help page <File>' -ForEach $HelpPages {
    It 'links a guide in docs/ that exists under RELATED LINKS' {
        $text = [IO.File]::ReadAllText((Join-Path $RepoRoot $File))
        $related = [regex]::Match($text, '(?ms)^## RELATED LINKS\s*$(.*?)(?=^## |\z)')
        $related.Success | Should -BeTrue
        $named = @([regex]::Matches($related.Groups[1].Value, 'docs/[\w-]+\.md') | ForEach-Object Value)
        $named | Should -Not -BeNullOrEmpty -Because 'every cmdlet page points to the guide for its task'
        @($named | Where-Object { $_ -notin $Guides }) | Should -BeNullOrEmpty
    }
}

Describe 'User doc <File>' -ForEach $UserDocs {
    It 'names no internal type or namespace' {
        $found = foreach ($line in [IO.File]::ReadAllLines((Join-Path $RepoRoot $File))) {
            # Cmdlet nouns (Get-ModelCatalog) and file names (catalog.json) are not type names: skip '-X' and '.X'.
            foreach ($m in [regex]::Matches($line, '(?<![\w.-])I?[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+\b')) {
                if ($InternalTypes.Contains($m.Value)) { $m.Value }
            }
            foreach ($m in [regex]::Matches($line, '\bModelCache(?:\.[A-Za-z]\w*)+')) {
                $parts = $m.Value -split '\.'
                $prefix = $parts[0..($parts.Count - 2)] -join '.'
                if ($Namespaces.Contains($m.Value) -or ($Namespaces.Contains($prefix) -and $Declared.Contains($parts[-1]))) { $m.Value }
            }
        }
        @($found | Sort-Object -Unique) | Should -BeNullOrEmpty
    }
}
