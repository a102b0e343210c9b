# Confirmations where no one can answer: every prompt a cmdlet can raise (ShouldContinue, and ShouldProcess under
# -Confirm), run in a real `pwsh -NonInteractive -File`, must be a ConfirmationRequired error that says how to confirm
# in advance, never ModelCacheInternalError; and no cmdlet ends the host process itself.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Prompts under pwsh -NonInteractive' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'noninteractive'
        $null = Save-Model $Yolo, $Slim -ErrorAction Stop
        $script:Script = Join-Path $Sandbox.Root 'prompts.ps1'
        # One process for the whole class (a pwsh start is seconds here): each command in its own try, one line per outcome.
        Set-Content -LiteralPath $Script -Value @'
param([string] $Module, [string] $Work)
Import-Module $Module
$catalog = Join-Path $Work 'extra.json'
'{"models": []}' | Set-Content -LiteralPath $catalog
$commands = [ordered]@{
    'Clear-ModelCache -All'          = { Clear-ModelCache -All }
    'Clear-ModelCache -All -Layout HuggingFace' = { Clear-ModelCache -All -Layout HuggingFace }
    'Clear-ModelCache -Confirm'      = { Clear-ModelCache UltraFace/SLIM_320 -Confirm }
    'Save-Model -Confirm'            = { Save-Model UltraFace/RFB_320 -Confirm }
    'Set-ModelCacheEntry -Confirm'   = { Set-ModelCacheEntry UltraFace/SLIM_320 -Pinned $true -Confirm }
    'Set-ModelCacheQuota -Confirm'   = { Set-ModelCacheQuota -MaxSize 1GB -Confirm }
    'Set-ModelCacheLocation -Confirm' = { Set-ModelCacheLocation -Path (Join-Path $Work 'other') -Confirm -Scope Process }
    'Optimize-ModelCache -Confirm'   = { Optimize-ModelCache -Precompile -Confirm }
    'Export-ModelCache -Confirm'     = { Export-ModelCache -Path (Join-Path $Work 'b.zip') -Confirm }
    'Move-ModelCache -Confirm'       = { Move-ModelCache -Destination (Join-Path $Work 'moved') -Confirm }
    'Register-ModelCatalog -Confirm' = { Register-ModelCatalog -Path $catalog -Confirm }
    'Sync-ModelCache -Confirm'       = { Sync-ModelCache -Manifest (Join-Path $Work 'models.json') -Prune -Confirm }
}
'{"formatVersion": 1, "models": ["UltraFace/SLIM_320"]}' | Set-Content -LiteralPath (Join-Path $Work 'models.json')
foreach ($pair in $commands.GetEnumerator()) {
    $Error.Clear()
    try { $null = & $pair.Value 2>$null } catch { }
    $record = $Error[0]
    $id = if ($record) { ($record.FullyQualifiedErrorId -split ',')[0] } else { 'none' }
    "$($pair.Key) => $id | $($record.ErrorDetails.RecommendedAction)"
}
'@
        $script:Run = Invoke-ChildPwsh $Script -Arguments $ModuleUnderTest, $Sandbox.Root
        $script:Lines = @{}
        foreach ($line in $Run.Output) {
            if ($line -match '^(.+?) => (\S+) \| (.*)$') { $Lines[$Matches[1]] = [pscustomobject]@{ Id = $Matches[2]; Action = $Matches[3] } }
        }
    }

    It '<_> is ConfirmationRequired, saying how to confirm in advance' -ForEach @(
        'Clear-ModelCache -All', 'Clear-ModelCache -All -Layout HuggingFace', 'Clear-ModelCache -Confirm', 'Save-Model -Confirm',
        'Set-ModelCacheEntry -Confirm', 'Set-ModelCacheQuota -Confirm', 'Set-ModelCacheLocation -Confirm', 'Optimize-ModelCache -Confirm',
        'Export-ModelCache -Confirm', 'Move-ModelCache -Confirm', 'Register-ModelCatalog -Confirm', 'Sync-ModelCache -Confirm'
    ) {
        $Lines.Keys | Should -Contain $_ -Because ($Run.Output -join "`n")
        $Lines[$_].Id | Should -Be 'ConfirmationRequired'
        $Lines[$_].Action | Should -Match ([regex]::Escape('-Confirm:$false'))
    }

    It 'names -Force for the extra question of -All' {
        $Lines['Clear-ModelCache -All'].Action | Should -Match '-Force or -Confirm:\$false'
    }

    It 'removed and changed nothing' {
        @(Get-ModelCache).Count | Should -Be 2
        @(Get-ModelCache | Where-Object Pinned).Count | Should -Be 0
        Test-Path (Join-Path $Sandbox.Root 'b.zip') | Should -BeFalse
        Test-Path (Join-Path $Sandbox.Root 'moved') | Should -BeFalse
    }

    It 'clears everything with -Force, in the same kind of session' {
        $job = Join-Path $Sandbox.Root 'clear.ps1'
        Set-Content -LiteralPath $job -Value "param([string] `$Module) Import-Module `$Module; Clear-ModelCache -All -Force -ErrorAction Stop"
        $run = Invoke-ChildPwsh $job -Arguments $ModuleUnderTest
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        Get-ModelCache | Should -BeNullOrEmpty
    }
}

Describe 'No cmdlet ends the process' {
    It 'no source file calls SetShouldExit or Environment.Exit' {
        $hits = Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'src') -Recurse -Filter *.cs |
            Where-Object FullName -notmatch '[\\/](obj|bin)[\\/]' |
            Select-String -Pattern '\bSetShouldExit\s*\(', '\bEnvironment\s*\.\s*Exit\s*\(', '\bProcess\s*\.\s*GetCurrentProcess\s*\(\s*\)\s*\.\s*Kill\b'
        $hits | ForEach-Object { "$($_.Path):$($_.LineNumber): $($_.Line.Trim())" } | Should -BeNullOrEmpty
    }
}
