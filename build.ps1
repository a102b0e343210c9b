<#
.SYNOPSIS
    Builds, tests, packages and demonstrates the ModelCache module.
.DESCRIPTION
    Uses only the dotnet CLI and .NET APIs (no Utility or Management cmdlets), so it runs in
    pwsh, Windows PowerShell 5.1 and minimal hosts such as tests/ModelCache.TestHost.
.PARAMETER Task
    Build, Test, Package and/or Demo, in the order given (comma-separated text is accepted).
.PARAMETER Configuration
    Debug or Release. Build and Test share it.
.PARAMETER OutputPath
    Where Package writes the installable module folder (default: artifacts/ModelCache).
.PARAMETER Model
    Demo: the model to save and verify (default: the uniface default detector RetinaFace/MNET_V2).
.PARAMETER Mirror
    Demo: a mirror URL or directory, e.g. ../shared/fixtures/models where there is no internet.
.EXAMPLE
    ./build.ps1 -Task Build, Test
.EXAMPLE
    ./build.ps1 -Task Build, Demo -Model YOLOv8Face/YOLOV8_LITE_T -Mirror ../shared/fixtures/models
#>
[CmdletBinding()]
param(
    [string[]] $Task = @('Build'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',
    [string] $OutputPath,
    [string] $Model = 'RetinaFace/MNET_V2',
    [string] $Mirror,
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$solution = [System.IO.Path]::Combine($root, 'ModelCache.sln')
if (-not $OutputPath) { $OutputPath = [System.IO.Path]::Combine($root, 'artifacts', 'ModelCache') }

function Invoke-Dotnet([string[]] $Arguments) {
    [Console]::WriteLine("> dotnet $($Arguments -join ' ')")
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE." }
}

function Copy-Tree([string] $Source, [string] $Destination, [string[]] $Exclude = @()) {
    [void][System.IO.Directory]::CreateDirectory($Destination)
    foreach ($file in [System.IO.Directory]::GetFiles($Source, '*', [System.IO.SearchOption]::AllDirectories)) {
        $relative = $file.Substring($Source.Length).TrimStart('/', '\')
        if ([System.IO.Path]::GetFileName($file) -eq '.gitignore' -or ($Exclude | Where-Object { $relative.StartsWith($_) })) { continue }
        $target = [System.IO.Path]::Combine($Destination, $file.Substring($Source.Length).TrimStart('/', '\'))
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($target))
        [System.IO.File]::Copy($file, $target, $true)
    }
}

$tasks = $Task | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ }
foreach ($step in $tasks) {
    switch ($step) {
        'Build' {
            Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        }
        'Test' {
            $arguments = @('test', $solution, '-c', $Configuration, '--nologo')
            if ($NoBuild -or $tasks -contains 'Build') { $arguments += '--no-build' }
            Invoke-Dotnet $arguments
        }
        'Package' {
            if (-not $NoBuild -and $tasks -notcontains 'Build') { Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo') }
            if ([System.IO.Directory]::Exists($OutputPath)) { [System.IO.Directory]::Delete($OutputPath, $true) }
            # Same relative layout as the clone, so the manifest works unchanged; about_ help also
            # goes to <ModuleBase>/en-US where Get-Help looks for it.
            [void][System.IO.Directory]::CreateDirectory($OutputPath)
            [System.IO.File]::Copy([System.IO.Path]::Combine($root, 'ModelCache.psd1'), [System.IO.Path]::Combine($OutputPath, 'ModelCache.psd1'), $true)
            # Help sources (Markdown) are compiled into en-US at build time and not shipped.
            Copy-Tree ([System.IO.Path]::Combine($root, 'module')) ([System.IO.Path]::Combine($OutputPath, 'module')) -Exclude @('help')
            Copy-Tree ([System.IO.Path]::Combine($root, 'module', 'en-US')) ([System.IO.Path]::Combine($OutputPath, 'en-US'))
            [Console]::WriteLine("Packaged module: $OutputPath")
        }
        'Demo' {
            if ($Mirror) { $env:MODELCACHE_MIRROR = $Mirror }
            Import-Module ([System.IO.Path]::Combine($root, 'ModelCache.psd1')) -Force
            Save-Model -Name $Model | Test-ModelHash
        }
        default { throw "Unknown task '$step'. Use Build, Test, Package or Demo." }
    }
}
