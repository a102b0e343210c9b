# Code blocks of README.md and docs/**/*.md (found automatically), run or checked.
#
# Marker convention: an HTML comment on the line before a fenced block (blank lines between are allowed).
# - ```powershell with no marker: runnable. It runs as the help examples do (Invoke-ExampleCode: a fresh runspace,
#   offline, the fixture models as the mirror, a work folder with photos and model files, a cache holding four models,
#   the uniface names the docs use mapped onto fixtures) and must finish without an error; what it writes, shown at
#   80 columns, must name no .NET type and dump no dictionary or raw duration.
# - <!-- not-runnable: reason --> before a ```powershell block: not run; the reason is shown as the skip reason.
# - <!-- job --> before a ```powershell block: a scheduled-job script. It is written to a .ps1 and run with a real
#   `pwsh -NoProfile -NonInteractive -File`, offline and with no mirror: with the models of the example catalog cached
#   and valid it must exit 0; with RetinaFace/MNET_V2's cached file corrupted (a non-terminating error), and with an
#   invalid catalog in MODELCACHE_CATALOG (a terminating error), it must not.
#   `<!-- job: old => new; old2 => new2 -->` replaces machine paths in the script with files of the sandbox (a
#   models.json listing the cached models is there). A job's first line may name its path (`# /opt/x/sync.ps1`).
# - <!-- systemd-unit: name.service --> before an ```ini block: a unit file, which cannot run here. It is checked with
#   `systemd-analyze verify` where that command exists (units of one file verified together, pwsh replaced by a stub),
#   and its ExecStart must run pwsh -NonInteractive with -File naming a job of the same file, or with a -Command that
#   parses and in which every '$' is written '$$' (systemd expands $name itself).
# - Task Scheduler actions (New-ScheduledTaskAction ... -File x.ps1) in the text must name a job's script too.
# Blocks in other languages (sh, json, yaml, nginx, ini without a marker) are not run.

BeforeDiscovery {
    . $PSScriptRoot/TestSupport.ps1

    function Get-DocBlock {
        param([string] $Path)
        $lines = @(Get-Content -LiteralPath $Path)
        $relative = [IO.Path]::GetRelativePath($RepoRoot, $Path)
        for ($i = 0; $i -lt $lines.Count; $i++) {
            if ($lines[$i] -notmatch '^(\s*)```(\w+)\s*$') { continue }
            $indent, $language, $start = $Matches[1].Length, $Matches[2], ($i + 1)
            $code = [Collections.Generic.List[string]]::new()
            for ($i++; $i -lt $lines.Count -and $lines[$i] -notmatch '^\s*```\s*$'; $i++) {
                $line = $lines[$i]
                $code.Add($(if ($line.Length -ge $indent -and $line.Substring(0, $indent).Trim() -eq '') { $line.Substring($indent) } else { $line.TrimStart() }))
            }
            $marker = $null
            for ($j = $start - 2; $j -ge 0 -and $lines[$j].Trim() -eq ''; $j--) { }
            if ($j -ge 0 -and $lines[$j].Trim() -match '^<!--\s*([\w-]+)\s*(?::\s*(.*?))?\s*-->$') { $marker = @{ Kind = $Matches[1]; Value = $Matches[2] } }
            [pscustomobject]@{
                File = $relative; Path = $Path; Line = $start; Language = $language; Code = ($code -join "`n")
                Kind = if ($marker) { $marker.Kind } else { 'none' }; Value = if ($marker) { $marker.Value } else { $null }
            }
        }
    }

    $docs = @(Join-Path $RepoRoot 'README.md')
    $docsFolder = Join-Path $RepoRoot 'docs'
    if (Test-Path -LiteralPath $docsFolder) { $docs += @(Get-ChildItem -LiteralPath $docsFolder -Recurse -Filter *.md | Sort-Object FullName).FullName }
    $script:Blocks = @(foreach ($doc in $docs) { Get-DocBlock $doc })
    $script:Markers = @('not-runnable', 'job', 'systemd-unit')
    $script:PowerShellBlocks = @($Blocks | Where-Object { $_.Language -eq 'powershell' -and $_.Kind -ne 'job' } | ForEach-Object { @{ Block = $_; Name = "$($_.File):$($_.Line)" } })
    $script:JobBlocks = @($Blocks | Where-Object { $_.Kind -eq 'job' } | ForEach-Object { @{ Block = $_; Name = "$($_.File):$($_.Line)" } })
    # Two ways a job fails: a non-terminating error (one model) and a terminating one (the command cannot start).
    $script:JobFailures = @(foreach ($job in $JobBlocks) {
        foreach ($failure in 'a cached model is corrupt and cannot be replaced', 'a catalog it reads is invalid') { $job + @{ Failure = $failure } }
    })
    $script:UnitFiles = @($Blocks | Where-Object Kind -eq 'systemd-unit' | Group-Object File | ForEach-Object { @{ File = $_.Name; Units = @($_.Group) } })
    $script:DocFiles = @($docs | ForEach-Object { @{ Path = $_; File = [IO.Path]::GetRelativePath($RepoRoot, $_) } })
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:ExampleCatalog = New-ExampleCatalog (Join-Path $TestDrive 'docs-catalog.json')
    $script:SavedModulePath = $env:PSModulePath
    $script:ExampleModule = Enable-ModelCacheByName (Join-Path $TestDrive 'modules')

    # The script a job block names in its first line ('# /opt/modelcache/sync.ps1' or '# provision.ps1 — ...').
    function Get-JobScriptName([string] $Code) {
        if ($Code -match '^#\s*(\S+\.ps1)\b') { return Split-Path -Leaf $Matches[1] }
    }
}

AfterAll {
    $env:PSModulePath = $SavedModulePath
    Exit-ModelCacheSandbox
}

Describe 'Doc markers' {
    It '<File> uses only known markers before code blocks' -ForEach $DocFiles {
        $unknown = @($Blocks | Where-Object { $_.File -eq $File -and $_.Kind -ne 'none' -and $_.Kind -notin $Markers } | ForEach-Object { "line $($_.Line): $($_.Kind)" })
        $unknown | Should -BeNullOrEmpty
        $misplaced = @($Blocks | Where-Object { $_.File -eq $File -and (($_.Kind -in 'job', 'not-runnable' -and $_.Language -ne 'powershell') -or ($_.Kind -eq 'systemd-unit' -and $_.Language -ne 'ini')) } | ForEach-Object { "line $($_.Line)" })
        $misplaced | Should -BeNullOrEmpty
        @($Blocks | Where-Object { $_.File -eq $File -and $_.Kind -eq 'not-runnable' -and -not $_.Value }) | Should -BeNullOrEmpty -Because 'not-runnable needs a reason'
    }

    It 'the provisioning guide has jobs that are run' {
        @($JobBlocks | Where-Object { $_.Block.File -like 'docs?provisioning.md' }).Count | Should -BeGreaterOrEqual 2
    }
}

Describe 'Doc code blocks run' {
    AfterEach {
        Set-ModelCacheLocation -Reset -Confirm:$false -Scope Process
    }

    It '<Name>' -ForEach $PowerShellBlocks -AllowNullOrEmptyForEach {
        if ($Block.Kind -eq 'not-runnable') {
            Set-ItResult -Skipped -Because $Block.Value
            return
        }
        $work = Initialize-ExampleWorkspace (Enter-ModelCacheSandbox 'doc') $ExampleCatalog
        $run = Invoke-ExampleCode $Block.Code $work $ExampleModule
        $run.Failure | Should -BeNullOrEmpty -Because "the block should run:`n$($Block.Code)"
        $run.Errors | Should -BeNullOrEmpty -Because "the block should run without errors:`n$($Block.Code)"
        Assert-ReadableOutput $run.Output -Context "output of $Name at 80 columns"
    }
}

Describe 'Doc jobs exit non-zero exactly when something failed' {
    BeforeAll {
        # Offline, no mirror: a corrupt cached copy cannot be replaced, so the job has to fail.
        function Enter-JobSandbox {
            $sandbox = Enter-ModelCacheSandbox 'job'
            $env:MODELCACHE_CATALOG = $ExampleCatalog
            $null = Save-Model RetinaFace/MNET_V2, SCRFD/SCRFD_10G_KPS -ErrorAction Stop
            @{ formatVersion = 1; models = @('RetinaFace/MNET_V2', 'SCRFD/SCRFD_10G_KPS') } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $sandbox.Root 'models.json')
            Remove-Item Env:MODELCACHE_MIRROR
            $sandbox
        }

        function Invoke-DocJob($Block, $Sandbox) {
            $code = $Block.Code
            foreach ($pair in @(if ($Block.Value) { $Block.Value -split ';' })) {
                $old, $new = $pair -split '=>' | ForEach-Object Trim
                $code = $code.Replace($old, (Join-Path $Sandbox.Root $new))
            }
            $path = Join-Path $Sandbox.Root 'job.ps1'
            Set-Content -LiteralPath $path -Value $code
            Push-Location $Sandbox.Root
            try { Invoke-ChildPwsh $path } finally { Pop-Location }
        }
    }

    It '<Name> exits 0 when every model is cached and valid' -ForEach $JobBlocks -AllowNullOrEmptyForEach {
        $sandbox = Enter-JobSandbox
        $run = Invoke-DocJob $Block $sandbox
        $run.ExitCode | Should -Be 0 -Because "the job should succeed:`n$($Block.Code)`n--- output:`n$($run.Output -join "`n")"
    }

    It '<Name> exits non-zero when <Failure>' -ForEach $JobFailures -AllowNullOrEmptyForEach {
        $sandbox = Enter-JobSandbox
        if ($Failure -like '*corrupt*') {
            $path = (Get-ModelCache RetinaFace/MNET_V2).Path
            $bytes = [IO.File]::ReadAllBytes($path)
            $bytes[1000] = $bytes[1000] -bxor 0xFF
            [IO.File]::WriteAllBytes($path, $bytes)
            $expected = 'HashMismatch|corrupt|damaged|MNET_V2'
        }
        else {
            $bad = Join-Path $sandbox.Root 'broken-catalog.json'
            Set-Content -LiteralPath $bad -Value '{"models": ['
            $env:MODELCACHE_CATALOG = $ExampleCatalog + [IO.Path]::PathSeparator + $bad
            $expected = 'broken-catalog\.json'
        }

        $run = Invoke-DocJob $Block $sandbox
        $run.ExitCode | Should -Not -Be 0 -Because "the job should fail loudly:`n$($Block.Code)`n--- output:`n$($run.Output -join "`n")"
        ($run.Output -join "`n") | Should -Match $expected
    }
}

Describe 'Units and scheduled tasks in <File>' -ForEach $UnitFiles -AllowNullOrEmptyForEach {
    BeforeAll {
        $script:JobScripts = @($JobBlocks | Where-Object { $_.Block.File -eq $File } | ForEach-Object { Get-JobScriptName $_.Block.Code } | Where-Object { $_ })
    }

    It '<_.Value> runs pwsh non-interactively, a job of the same file or a -Command that parses' -ForEach $Units {
        $text = $_.Code -replace '\\\r?\n\s*', ' '
        if ($_.Value -notlike '*.service') {
            $text | Should -Not -Match '(?m)^ExecStart=' -Because 'only a service runs a command'
            return
        }
        $exec = ([regex]::Match($text, '(?m)^ExecStart=(.*)$')).Groups[1].Value.Trim()
        $exec | Should -Match '^\S*pwsh(\.exe)?\s'
        $exec | Should -Match '\s-NonInteractive\s|\s-File\s' -Because 'a service must never wait for a prompt (-File is not interactive either, with -NonInteractive)'
        ($exec -replace '\$\$', '') | Should -Not -Match '\$' -Because "systemd expands `$name itself: PowerShell's `$ must be written `$`$ ($exec)"
        if ($exec -match '\s-File\s+(\S+)') {
            $exec | Should -Match '\s-NonInteractive\s'
            $JobScripts | Should -Contain (Split-Path -Leaf $Matches[1]) -Because "the unit must run a job the docs test ($File)"
        }
        elseif ($exec -match '\s-Command\s+"(.*)"\s*$') {
            $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput(($Matches[1] -replace '\$\$', '$'), [ref] $null, [ref] $errors)
            $errors | Should -BeNullOrEmpty
            foreach ($name in @($ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true) | ForEach-Object { $_.GetCommandName() })) {
                Get-Command $name -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because "$name must be a command"
            }
        }
        else {
            throw "ExecStart runs neither -File nor -Command: $exec"
        }
    }

    It 'systemd-analyze verify accepts the units' {
        $analyzer = Get-Command systemd-analyze -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $analyzer) {
            Set-ItResult -Skipped -Because 'systemd-analyze is not installed here; the ExecStart checks still ran'
            return
        }
        $folder = Join-Path $TestDrive ('units-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
        $null = New-Item -ItemType Directory -Path $folder
        # The unit's pwsh need not exist here, only be executable: verify checks the file, not what it runs.
        $stub = Join-Path $folder 'pwsh'
        Set-Content -LiteralPath $stub -Value "#!/bin/sh`nexit 0"
        chmod +x $stub
        $files = foreach ($unit in $Units) {
            $path = Join-Path $folder $unit.Value
            Set-Content -LiteralPath $path -Value ($unit.Code -replace '(?m)^ExecStart=\S*pwsh(\.exe)?', "ExecStart=$stub")
            $path
        }
        $output = & $analyzer.Source verify @files 2>&1 | ForEach-Object { "$_" }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        # Unknown keys and sections are only warnings to systemd: refuse them too.
        $output | Should -BeNullOrEmpty
    }

    It 'every Task Scheduler action names a job of the same file' {
        $text = Get-Content -Raw -LiteralPath (Join-Path $RepoRoot $File)
        foreach ($action in [regex]::Matches($text, "New-ScheduledTaskAction[^)]*?-File\s+([^'`"\s)]+)")) {
            $JobScripts | Should -Contain (Split-Path -Leaf ($action.Groups[1].Value -replace '\\', '/'))
        }
    }
}

Describe 'pwsh -File and errors (why the jobs need an idiom)' {
    It 'exits 0 after a non-terminating and a statement-terminating error, 1 after -ErrorAction Stop on the failing cmdlet' {
        $cases = [ordered]@{
            'Write-Error x'                                        = 0
            '[int]::Parse("x")'                                    = 0
            'Get-Item /no/such/file | Get-Item -ErrorAction Stop'  = 0
            'Get-Item /no/such/file -ErrorAction Stop'             = 1
        }
        $script = Join-Path $TestDrive 'idiom.ps1'
        foreach ($case in $cases.GetEnumerator()) {
            Set-Content -LiteralPath $script -Value "$($case.Key)`n'after'"
            (Invoke-ChildPwsh $script).ExitCode | Should -Be $case.Value -Because $case.Key
        }
    }
}
