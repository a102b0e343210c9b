<#
.SYNOPSIS
    Runs the ModelCache Pester suite (tests/ModelCache.Pester/*.Tests.ps1) in this pwsh process.

.DESCRIPTION
    Imports Pester 6.2.0 from the NuGet global packages folder (restored by
    ModelCache.Pester.csproj's PackageDownload), runs every *.Tests.ps1 beside this script against
    the module named by -Module, writes JUnit XML to -OutputFile, prints
    'Pester: N passed, N failed, N skipped' and exits 1 when a test, a container or the run failed.

    dotnet pwsh -NoProfile -File tests/ModelCache.Pester/Invoke-ModelCachePester.ps1 [-Module <psd1|name>] [-OutputFile x.xml]

.PARAMETER Module
    Path to a ModelCache.psd1, or a module name imported by name from $env:PSModulePath (e.g. an
    installed package). Default: the repository's ModelCache.psd1 (run 'dotnet build' first).

.PARAMETER OutputFile
    JUnit XML result file. Default: artifacts/test-results/pester.xml under the repository.

.PARAMETER PesterPath
    Path to Pester.psd1. Default: pester/6.2.0/tools/Pester.psd1 in the NuGet global packages
    folder ($env:NUGET_PACKAGES, else 'dotnet nuget locals global-packages --list', else ~/.nuget/packages).
#>
[CmdletBinding()]
param(
    [string] $Module,
    [string] $OutputFile,
    [string] $PesterPath
)

$ErrorActionPreference = 'Stop'
$PesterVersion = '6.2.0'
$repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath

function Find-Pester {
    $roots = @()
    if ($env:NUGET_PACKAGES) { $roots += $env:NUGET_PACKAGES }
    try {
        # "global-packages: /home/user/.nuget/packages/"
        $line = & dotnet nuget locals global-packages --list 2>$null | Select-Object -First 1
        if ($LASTEXITCODE -eq 0 -and $line -match '^\s*global-packages:\s*(.+?)\s*$') { $roots += $Matches[1] }
    }
    catch {
        Write-Verbose "dotnet nuget locals failed: $_"
    }
    $roots += Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
    foreach ($root in $roots) {
        $candidate = Join-Path $root "pester/$PesterVersion/tools/Pester.psd1"
        if (Test-Path -LiteralPath $candidate) { return $candidate }
    }
    throw "Pester $PesterVersion not found under: $($roots -join ', '). Run 'dotnet restore tests/ModelCache.Pester' (or pass -PesterPath)."
}

if (-not $PesterPath) { $PesterPath = Find-Pester }
if (-not $Module) { $Module = Join-Path $repoRoot 'ModelCache.psd1' }
elseif ($Module -match '[\\/]' -or $Module -like '*.psd1') { $Module = (Resolve-Path -LiteralPath $Module).ProviderPath }
if (-not $OutputFile) { $OutputFile = Join-Path $repoRoot 'artifacts/test-results/pester.xml' }
$OutputFile = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutputFile)
$null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $OutputFile)

# The test files import the module from here (a psd1 path or a module name).
$env:MODELCACHE_TEST_MODULE = $Module

Import-Module $PesterPath -Force -ErrorAction Stop
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'JUnitXml'
$configuration.TestResult.OutputPath = $OutputFile

Write-Host "Pester $((Get-Module Pester).Version) from $PesterPath; module under test: $Module"
try {
    $result = Invoke-Pester -Configuration $configuration
}
catch {
    # E.g. the result file could not be written: the run failed even if every test passed.
    Write-Host "Pester run failed: $_"
    Write-Host 'Pester: 0 passed, 1 failed, 0 skipped'
    exit 1
}

$failedContainers = @($result.Containers | Where-Object { $_.Result -eq 'Failed' }).Count
$failed = [int]$result.FailedCount + [int]$result.FailedBlocksCount + [int]$result.FailedContainersCount
Write-Host "Pester: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
if ($result.Result -ne 'Passed' -or $failed -gt 0 -or $failedContainers -gt 0 -or $result.TotalCount -eq 0) {
    exit 1
}
exit 0
