<#
.SYNOPSIS
    Builds, tests, packages and demonstrates the ModelCache module.
.DESCRIPTION
    Runs in PowerShell 7 (`dotnet pwsh`, the .NET tool pinned in .config/dotnet-tools.json) and in
    Windows PowerShell 5.1: no 7-only syntax (tests/ModelCache.Pester/BuildScript.Tests.ps1 checks),
    and Build/Package do their file work with the dotnet CLI and .NET APIs only (core cmdlets only).
    Steps that need
    PowerShell 7 (Pester, PSResourceGet, a fresh process for the installed package) run in a child
    `dotnet pwsh`.

    Tasks, run in the order given:
      Build        dotnet build ModelCache.sln; leaves the clone importable (Import-Module ./ModelCache.psd1).
      Test         xunit (dotnet test, TRX) and Pester (child pwsh), both always run; ends with one line
                   `Tests: N passed, N failed, N skipped` and throws if either failed.
      Package      artifacts/ModelCache (the module folder), then artifacts/repository/ModelCache.<version>.nupkg
                   through Publish-PSResource to a local folder repository, plus artifacts/ModelCache.<version>.nupkg.sha256
                   (outside the repository folder, which PSResourceGet reads as packages only).
      TestPackage  Save-PSResource of that package into a temp folder, then in a fresh pwsh whose
                   PSModulePath holds only that folder and the system modules: Import-Module ModelCache by
                   name, save -> verify -> detect against the fixture mirror, and the Pester suite.
      Demo         Save-Model | Test-ModelHash, then Invoke-FaceDetect on the fixture photos.
.PARAMETER Task
    Build, Test, Package, TestPackage and/or Demo, in the order given (comma-separated text is accepted).
.PARAMETER Configuration
    Debug or Release, for Build, Test and Package.
.PARAMETER OutputPath
    Package: where the module folder goes (default: artifacts/ModelCache).
.PARAMETER RepositoryPath
    Package, TestPackage: the local folder repository holding the .nupkg (default: artifacts/repository).
.PARAMETER Runtime
    Package: keep only this runtime's native folders (any path with a runtimes/<rid>/ segment for
    another RID is left out), e.g. linux-x64 or win-x64. Default: every platform.
.PARAMETER Model
    Demo: the model to save, verify and detect with. Default: the uniface default detector
    RetinaFace/MNET_V2 or, when -Mirror is a folder without that file, RetinaFace/MNET_025_BIUBUG6.
.PARAMETER Mirror
    Demo, TestPackage: a mirror URL or folder, e.g. ../shared/fixtures/models where there is no
    internet. TestPackage defaults to ../shared/fixtures/models.
.PARAMETER ImagePath
    Demo: a folder of photos for Invoke-FaceDetect (default: ../shared/fixtures/images when present).
.PARAMETER NoBuild
    Test, Package: use what is already built.
.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 -Task Build,Test
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Build,Demo -Mirror ../shared/fixtures/models
.EXAMPLE
    dotnet pwsh ./build.ps1 -Task Build,Package,TestPackage -Runtime linux-x64
#>
[CmdletBinding()]
param(
    [string[]] $Task = @('Build'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',
    [string] $OutputPath,
    [string] $RepositoryPath,
    [string] $Runtime,
    [string] $Model,
    [string] $Mirror,
    [string] $ImagePath,
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$solution = [System.IO.Path]::Combine($root, 'ModelCache.sln')
$manifest = [System.IO.Path]::Combine($root, 'ModelCache.psd1')
$artifacts = [System.IO.Path]::Combine($root, 'artifacts')
$testResults = [System.IO.Path]::Combine($artifacts, 'test-results')
$pesterRunner = [System.IO.Path]::Combine($root, 'tests', 'ModelCache.Pester', 'Invoke-ModelCachePester.ps1')
$fixtures = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($root, '..', 'shared', 'fixtures'))
$utf8 = [System.Text.UTF8Encoding]::new($false)

function Resolve-UserPath([string] $Path) {
    # Relative to the PowerShell location the user typed it in (not the process's current directory).
    if (-not $Path) { return $Path }
    if ($Path -match '^[a-zA-Z][a-zA-Z0-9+.-]*://') { return $Path }
    return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
}

if ($OutputPath) { $OutputPath = Resolve-UserPath $OutputPath } else { $OutputPath = [System.IO.Path]::Combine($artifacts, 'ModelCache') }
if ($RepositoryPath) { $RepositoryPath = Resolve-UserPath $RepositoryPath } else { $RepositoryPath = [System.IO.Path]::Combine($artifacts, 'repository') }
if ($Mirror) { $Mirror = Resolve-UserPath $Mirror }
if ($ImagePath) { $ImagePath = Resolve-UserPath $ImagePath }

function Write-Line([string] $Text) { [Console]::Out.WriteLine($Text); [Console]::Out.Flush() }

function Invoke-Dotnet([string[]] $Arguments) {
    Write-Line "> dotnet $($Arguments -join ' ')"
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($Arguments[0]) failed with exit code $LASTEXITCODE." }
}

function ConvertTo-ProcessArgument([string] $Value) {
    # Quoting that both .NET Framework and .NET parse back into the same argument (CommandLineToArgvW rules).
    if ($Value.Length -gt 0 -and $Value.IndexOfAny([char[]]@(' ', "`t", "`n", '"')) -lt 0) { return $Value }
    $text = [System.Text.StringBuilder]::new()
    [void]$text.Append('"')
    $backslashes = 0
    foreach ($c in $Value.ToCharArray()) {
        if ($c -eq '\') { $backslashes++; continue }
        if ($c -eq '"') { [void]$text.Append([char]'\', 2 * $backslashes + 1) }
        elseif ($backslashes -gt 0) { [void]$text.Append([char]'\', $backslashes) }
        $backslashes = 0
        [void]$text.Append($c)
    }
    [void]$text.Append([char]'\', 2 * $backslashes)
    [void]$text.Append('"')
    return $text.ToString()
}

$script:pwshReady = $false
function Invoke-Pwsh([string[]] $Arguments, [hashtable] $Environment = @{}) {
    # A child PowerShell 7: the pinned .NET tool, run from the clone so its tool manifest is found.
    # Returns the exit code; output goes straight to this console.
    if (-not $script:pwshReady) {
        & dotnet tool restore | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'dotnet tool restore failed: PowerShell 7 (the pwsh .NET tool) is needed for this task.' }
        $script:pwshReady = $true
    }
    $all = @('pwsh') + $Arguments
    $start = [System.Diagnostics.ProcessStartInfo]::new()
    $start.FileName = 'dotnet'
    $start.Arguments = (($all | ForEach-Object { ConvertTo-ProcessArgument $_ }) -join ' ')
    $start.WorkingDirectory = $root
    $start.UseShellExecute = $false
    foreach ($name in $Environment.Keys) { $start.EnvironmentVariables[$name] = [string]$Environment[$name] }
    $process = [System.Diagnostics.Process]::Start($start)
    try { $process.WaitForExit(); return $process.ExitCode } finally { $process.Dispose() }
}

function ConvertTo-Literal([string] $Value) { return "'" + $Value.Replace("'", "''") + "'" }

function Invoke-PwshScript([string] $Script, [hashtable] $Environment = @{}) {
    # Runs script text in a fresh child pwsh, from a temporary file (-File keeps output plain text and
    # errors with line numbers; nothing is quoted across the process boundary).
    $file = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'modelcache-build-' + [guid]::NewGuid().ToString('N') + '.ps1')
    [System.IO.File]::WriteAllText($file, $Script, $utf8)
    try { return Invoke-Pwsh @('-NoProfile', '-NonInteractive', '-File', $file) $Environment }
    finally { [System.IO.File]::Delete($file) }
}

function Invoke-WithPSResourceGet([string] $Script) {
    # PSResourceGet ships with PowerShell 7.4+; Windows PowerShell 5.1 lacks it, so run there in a child pwsh.
    if (Get-Command Publish-PSResource -ErrorAction SilentlyContinue) {
        & ([scriptblock]::Create($Script))
    } else {
        $code = Invoke-PwshScript $Script
        if ($code -ne 0) { throw "PSResourceGet step failed in a child pwsh (exit code $code)." }
    }
}

function Get-PSResourceScript([string] $Repository, [string] $Body) {
    # A uniquely named, trusted folder repository that exists only while $Body runs.
    return @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
`$repositoryName = 'ModelCacheBuild-' + [guid]::NewGuid().ToString('N')
Register-PSResourceRepository -Name `$repositoryName -Uri $(ConvertTo-Literal $Repository) -Trusted
try {
$Body
} finally {
    Unregister-PSResourceRepository -Name `$repositoryName
}
"@
}

function Get-ModuleVersion {
    # The one place the version is written (Directory.Build.props reads it the same way).
    $match = [regex]::Match([System.IO.File]::ReadAllText($manifest), "(?m)^\s*ModuleVersion\s*=\s*['`"]([^'`"]+)")
    if (-not $match.Success) { throw "No ModuleVersion in $manifest." }
    return $match.Groups[1].Value
}

function Get-RootModule {
    $match = [regex]::Match([System.IO.File]::ReadAllText($manifest), "(?m)^\s*RootModule\s*=\s*['`"]([^'`"]+)")
    if (-not $match.Success) { throw "No RootModule in $manifest." }
    return $match.Groups[1].Value
}

function Get-RelativePath([string] $Base, [string] $Path) {
    return $Path.Substring($Base.Length).TrimStart('/', '\').Replace('\', '/')
}

function Get-RuntimeSegment([string] $RelativePath) {
    # The <rid> of a path with a runtimes/<rid>/ segment anywhere in it, or $null.
    $match = [regex]::Match($RelativePath, '(?:^|/)runtimes/([^/]+)/')
    if ($match.Success) { return $match.Groups[1].Value }
    return $null
}

function Test-KeepRuntime([string] $Rid) {
    if (-not $Runtime -or -not $Rid) { return $true }
    if ($Rid -eq $Runtime) { return $true }
    # Portable parents: runtimes/win/ for win-x64, runtimes/linux/ for linux-x64, runtimes/unix/ off Windows.
    if ($Runtime.StartsWith($Rid + '-', [System.StringComparison]::OrdinalIgnoreCase)) { return $true }
    return ($Rid -eq 'unix' -and -not $Runtime.StartsWith('win', [System.StringComparison]::OrdinalIgnoreCase))
}

function Copy-Tree([string] $Source, [string] $Destination, [string[]] $ExcludeTopFolder = @()) {
    foreach ($file in [System.IO.Directory]::GetFiles($Source, '*', [System.IO.SearchOption]::AllDirectories)) {
        $relative = Get-RelativePath $Source $file
        if ([System.IO.Path]::GetFileName($file) -eq '.gitignore') { continue }
        if ($ExcludeTopFolder -contains $relative.Split('/')[0]) { continue }
        if (-not (Test-KeepRuntime (Get-RuntimeSegment $relative))) { continue }
        $target = [System.IO.Path]::Combine($Destination, $relative)
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($target))
        [System.IO.File]::Copy($file, $target, $true)
    }
}

function Get-FileSha256([string] $Path) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $stream = [System.IO.File]::OpenRead($Path)
    try { $bytes = $sha.ComputeHash($stream) } finally { $stream.Dispose(); $sha.Dispose() }
    return ([System.BitConverter]::ToString($bytes) -replace '-', '').ToLowerInvariant()
}

function Format-Size([long] $Bytes) {
    return [string]::Format([System.Globalization.CultureInfo]::InvariantCulture, '{0:0.0} MiB ({1} bytes)', ($Bytes / 1MB), $Bytes)
}

function Reset-Directory([string] $Path) {
    if ([System.IO.Directory]::Exists($Path)) { [System.IO.Directory]::Delete($Path, $true) }
    [void][System.IO.Directory]::CreateDirectory($Path)
}

function Read-TestResults([string] $Path) {
    # An unreadable result file (a runner that died while writing it) counts as a failure, never as green.
    $xml = [System.Xml.XmlDocument]::new()
    try { $xml.Load($Path); return ,$xml }   # the comma: an XmlDocument would be enumerated into its nodes
    catch { Write-Line "Unreadable test results ${Path}: $($_.Exception.Message)"; return $null }
}

function Add-TestCounts([hashtable] $Counts, [string] $Path) {
    $xml = Read-TestResults $Path
    if ($null -eq $xml) { $Counts.Failed++; return }
    # TRX (dotnet test): UnitTestResult outcome="Passed|Failed|NotExecuted|...".
    foreach ($result in $xml.GetElementsByTagName('UnitTestResult')) {
        switch ($result.GetAttribute('outcome')) {
            'Passed' { $Counts.Passed++ }
            { 'Failed', 'Error', 'Timeout', 'Aborted' -contains $_ } { $Counts.Failed++ }
            default { $Counts.Skipped++ }
        }
    }
    # JUnit (Pester): a testcase with a failure or error child failed; with a skipped child it was skipped.
    foreach ($case in $xml.GetElementsByTagName('testcase')) {
        if ($case.GetElementsByTagName('failure').Count -gt 0 -or $case.GetElementsByTagName('error').Count -gt 0) { $Counts.Failed++ }
        elseif ($case.GetElementsByTagName('skipped').Count -gt 0) { $Counts.Skipped++ }
        else { $Counts.Passed++ }
    }
}

# The failed tests by name, each with the first line of its message: the end of the log is often all a reader of CI sees.
function Write-FailedTests([string[]] $Paths) {
    foreach ($path in $Paths) {
        $xml = Read-TestResults $path
        if ($null -eq $xml) { continue }
        foreach ($result in $xml.GetElementsByTagName('UnitTestResult')) {
            if ('Failed', 'Error', 'Timeout', 'Aborted' -notcontains $result.GetAttribute('outcome')) { continue }
            $message = $result.GetElementsByTagName('Message')
            Write-FailedTest $result.GetAttribute('testName') $(if ($message.Count -gt 0) { $message[0].InnerText } else { $result.GetAttribute('outcome') })
        }
        foreach ($case in $xml.GetElementsByTagName('testcase')) {
            $failure = @($case.GetElementsByTagName('failure')) + @($case.GetElementsByTagName('error'))
            if ($failure.Count -gt 0) { Write-FailedTest $case.GetAttribute('name') $failure[0].GetAttribute('message') }
        }
    }
}

function Write-FailedTest([string] $Name, [string] $Message) {
    $first = ("$Message" -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 1)
    if ("$first".Length -gt 300) { $first = $first.Substring(0, 300) + '...' }
    Write-Line "FAILED: $Name"
    if ($first) { Write-Line "        $($first.Trim())" }
}

function Format-TestCounts([string[]] $Paths) {
    $counts = @{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($path in $Paths) { Add-TestCounts $counts $path }
    return "$($counts.Passed) passed, $($counts.Failed) failed, $($counts.Skipped) skipped"
}

function Invoke-BuildIfNeeded {
    if (-not $NoBuild -and $tasks -notcontains 'Build') { Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo') }
}

function Get-NupkgPath {
    return [System.IO.Path]::Combine($RepositoryPath, "ModelCache.$(Get-ModuleVersion).nupkg")
}

# Beside the repository folder, not in it: PSResourceGet reads every ModelCache.* file of a folder
# repository as a package and fails on anything else. Check it with: cd <repository>; sha256sum -c ../<file>
function Get-ChecksumPath {
    return [System.IO.Path]::Combine([System.IO.Path]::GetDirectoryName($RepositoryPath.TrimEnd('/', '\')), "ModelCache.$(Get-ModuleVersion).nupkg.sha256")
}

# Every test counted by Test and TestPackage, for the one closing line CI reads.
$allTests = @{ Passed = 0; Failed = 0; Skipped = 0 }
$tasks = @($Task | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
foreach ($step in $tasks) {
    $stepClock = [System.Diagnostics.Stopwatch]::StartNew()
    Write-Line "=== $step"
    switch ($step) {
        'Build' {
            Invoke-Dotnet @('build', $solution, '-c', $Configuration, '--nologo')
        }
        'Test' {
            Reset-Directory $testResults
            $failures = [System.Collections.Generic.List[string]]::new()
            # Independent judges in the interop tests, each pinned by its package-lock.json: the Hugging Face hub's JS client
            # (the hub layout) and a Prometheus text-format parser (/metrics). They skip without them (fail under CI=true).
            foreach ($judge in 'hub', 'prometheus') {
                $interop = [System.IO.Path]::Combine($root, 'tests', 'interop', $judge)
                if ([System.IO.Directory]::Exists([System.IO.Path]::Combine($interop, 'node_modules'))) { continue }
                if (Get-Command npm -ErrorAction SilentlyContinue) {
                    Write-Line "> npm ci --prefix $interop"
                    & npm ci --prefix $interop --no-audit --no-fund --loglevel=error
                    if ($LASTEXITCODE -ne 0) { Write-Line "npm ci failed (exit $LASTEXITCODE): the $judge interop tests will be skipped" }
                } else {
                    Write-Line "node/npm not found: the $judge interop tests will be skipped (install nodejs and npm to run them)"
                }
            }
            # xunit: every test project in the solution, a TRX per project, one assembly at a time (-m:1):
            # the kill -9 rounds are timing-sensitive, and on two cores a second test assembly running
            # beside them starves the processes they kill.
            $arguments = @('test', $solution, '-c', $Configuration, '--nologo', '-m:1', '--logger', 'trx', '--results-directory', $testResults)
            if ($NoBuild -or $tasks -contains 'Build') { $arguments += '--no-build' }
            try { Invoke-Dotnet $arguments } catch { $failures.Add("xunit: $($_.Exception.Message)") }
            # Pester: a child process, so the module loads fresh from this clone's manifest.
            if ([System.IO.File]::Exists($pesterRunner)) {
                $pesterXml = [System.IO.Path]::Combine($testResults, 'pester.xml')
                Write-Line "> dotnet pwsh -NoProfile -File $pesterRunner -Module $manifest -OutputFile $pesterXml"
                $code = Invoke-Pwsh @('-NoProfile', '-File', $pesterRunner, '-Module', $manifest, '-OutputFile', $pesterXml)
                if ($code -ne 0) { $failures.Add("Pester: exit code $code") }
            } else {
                $failures.Add("Pester: $pesterRunner is missing")
            }
            $trx = @([System.IO.Directory]::GetFiles($testResults, '*.trx'))
            $junit = @([System.IO.Directory]::GetFiles($testResults, '*.xml'))
            Write-Line ''
            Write-Line "xunit ($($trx.Count) TRX files): $(Format-TestCounts $trx)"
            Write-Line "Pester ($($junit.Count) JUnit file): $(Format-TestCounts $junit)"
            Write-Line "Tests: $(Format-TestCounts ($trx + $junit))"
            foreach ($file in ($trx + $junit)) { Add-TestCounts $allTests $file }
            Write-FailedTests ($trx + $junit)
            if ($failures.Count -gt 0) { throw "Tests failed: $($failures -join '; ')" }
        }
        'Package' {
            Invoke-BuildIfNeeded
            $version = Get-ModuleVersion
            Reset-Directory $OutputPath
            # The clone's layout, so the manifest works unchanged: ModelCache.psd1 at the root, the module/
            # tree as built (wherever the DLLs sit in it), help where Get-Help looks (<ModuleBase>/en-US).
            # Help sources (module/help, Markdown) are compiled at build time and not shipped.
            $moduleSource = [System.IO.Path]::Combine($root, 'module')
            if ($Runtime) {
                $rids = [System.Collections.Generic.SortedSet[string]]::new([System.StringComparer]::Ordinal)
                foreach ($file in [System.IO.Directory]::GetFiles($moduleSource, '*', [System.IO.SearchOption]::AllDirectories)) {
                    $rid = Get-RuntimeSegment (Get-RelativePath $moduleSource $file)
                    if ($rid) { [void]$rids.Add($rid) }
                }
                if (-not $rids.Contains($Runtime)) { throw "No runtimes/$Runtime/ folder under module/. Built runtimes: $(@($rids) -join ', ')." }
            }
            [System.IO.File]::Copy($manifest, [System.IO.Path]::Combine($OutputPath, 'ModelCache.psd1'), $true)
            [System.IO.File]::Copy([System.IO.Path]::Combine($root, 'LICENSE'), [System.IO.Path]::Combine($OutputPath, 'LICENSE'), $true)
            Copy-Tree $moduleSource ([System.IO.Path]::Combine($OutputPath, 'module')) -ExcludeTopFolder @('help', 'obj')
            Copy-Tree ([System.IO.Path]::Combine($moduleSource, 'en-US')) ([System.IO.Path]::Combine($OutputPath, 'en-US'))
            $rootModule = [System.IO.Path]::Combine($OutputPath, (Get-RootModule))
            if (-not [System.IO.File]::Exists($rootModule)) { throw "The package lacks its RootModule ${rootModule}: build first." }
            $platforms = 'all platforms'
            if ($Runtime) { $platforms = $Runtime }
            Write-Line "Module folder ($platforms): $OutputPath"

            # A versioned .nupkg through PSResourceGet, as a gallery would receive it.
            [void][System.IO.Directory]::CreateDirectory($RepositoryPath)
            $nupkg = Get-NupkgPath
            $checksum = Get-ChecksumPath
            foreach ($old in @($nupkg, $checksum)) { if ([System.IO.File]::Exists($old)) { [System.IO.File]::Delete($old) } }
            Write-Line "> Publish-PSResource -Path $OutputPath (folder repository $RepositoryPath)"
            Invoke-WithPSResourceGet (Get-PSResourceScript $RepositoryPath "    Publish-PSResource -Path $(ConvertTo-Literal $OutputPath) -Repository `$repositoryName")
            if (-not [System.IO.File]::Exists($nupkg)) { throw "Publish-PSResource did not write $nupkg." }
            $hash = Get-FileSha256 $nupkg
            [System.IO.File]::WriteAllText($checksum, "$hash  $([System.IO.Path]::GetFileName($nupkg))`n", $utf8)
            Write-Line "Package: $nupkg"
            Write-Line "Package size: $(Format-Size ([System.IO.FileInfo]::new($nupkg).Length))"
            Write-Line "SHA-256: $hash ($checksum)"
        }
        'TestPackage' {
            $version = Get-ModuleVersion
            $nupkg = Get-NupkgPath
            if (-not [System.IO.File]::Exists($nupkg)) { throw "No ${nupkg}: run the Package task first." }
            $sandbox = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'modelcache-package-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
            $installRoot = [System.IO.Path]::Combine($sandbox, 'Modules')
            $cacheRoot = [System.IO.Path]::Combine($sandbox, 'cache')
            [void][System.IO.Directory]::CreateDirectory($installRoot)
            try {
                # Install exactly the shipped bytes: check the .sha256 as `sha256sum -c` would, then serve the
                # .nupkg from a folder repository of its own, holding nothing else.
                $expected = [System.IO.File]::ReadAllText((Get-ChecksumPath)).Split(' ')[0]
                if ($expected -ne (Get-FileSha256 $nupkg)) { throw "$nupkg does not match its .sha256." }
                Write-Line "$([System.IO.Path]::GetFileName($nupkg)): OK (matches its .sha256)"
                $sandboxRepository = [System.IO.Path]::Combine($sandbox, 'repository')
                [void][System.IO.Directory]::CreateDirectory($sandboxRepository)
                [System.IO.File]::Copy($nupkg, [System.IO.Path]::Combine($sandboxRepository, [System.IO.Path]::GetFileName($nupkg)))
                Write-Line "> Save-PSResource -Name ModelCache -Version $version -Path $installRoot"
                Invoke-WithPSResourceGet (Get-PSResourceScript $sandboxRepository "    Save-PSResource -Name ModelCache -Version $(ConvertTo-Literal $version) -Repository `$repositoryName -Path $(ConvertTo-Literal $installRoot) -TrustRepository")

                # Fresh processes that see the installed package and the system modules, never the clone.
                $modulePathScript = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
`$paths = @($(ConvertTo-Literal $installRoot), [System.IO.Path]::Combine(`$PSHOME, 'Modules'))
if (`$env:SystemRoot) { `$paths += [System.IO.Path]::Combine(`$env:SystemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'Modules') }
`$env:PSModulePath = `$paths -join [System.IO.Path]::PathSeparator
"@
                $environment = @{ PSModulePath = $installRoot; MODELCACHE_HOME = $cacheRoot }

                $roundTripMirror = $Mirror
                if (-not $roundTripMirror) { $roundTripMirror = [System.IO.Path]::Combine($fixtures, 'models') }
                $images = [System.IO.Path]::Combine($fixtures, 'images')
                $smoke = $modulePathScript + @"

Import-Module ModelCache
`$module = Get-Module ModelCache
`$expected = $(ConvertTo-Literal $installRoot) + [System.IO.Path]::DirectorySeparatorChar
if (-not `$module.ModuleBase.StartsWith(`$expected, [System.StringComparison]::OrdinalIgnoreCase)) { throw "ModelCache was imported from `$(`$module.ModuleBase), not from the installed package under `$expected" }
"Imported ModelCache `$(`$module.Version) by name from `$(`$module.ModuleBase)"
if (-not (Get-Help Save-Model).Description) { throw 'Get-Help Save-Model has no description: the package lacks its help.' }
`$mirror = $(ConvertTo-Literal $roundTripMirror)
if (-not [System.IO.Directory]::Exists(`$mirror) -and `$mirror -notmatch '://') { Write-Warning "No fixture mirror at `${mirror}: round trip skipped."; return }
`$env:MODELCACHE_OFFLINE = '1'
`$model = 'RetinaFace/MNET_025_BIUBUG6'
`$checked = @(Save-Model -Name `$model -Mirror `$mirror | Test-ModelHash)
`$checked | Out-Host
if (`$checked.Count -ne 1 -or "`$(`$checked[0].Status)" -ne 'Valid') { throw "Save-Model | Test-ModelHash did not report one valid file for `$model." }
`$photos = @([System.IO.Directory]::GetFiles($(ConvertTo-Literal $images), '*.jpg') | Sort-Object | Select-Object -First 4)
if (`$photos.Count -eq 0) { Write-Warning 'No fixture photos: detection skipped.'; return }
`$results = @(Invoke-FaceDetect -LiteralPath `$photos -Model `$model)
`$results | Out-Host
`$faces = (`$results | Measure-Object -Property FaceCount -Sum).Sum
if (`$results.Count -ne `$photos.Count -or `$faces -lt 1) { throw "Invoke-FaceDetect: `$(`$results.Count) results and `$faces faces for `$(`$photos.Count) photos." }
"Round trip from the installed package: saved, verified, `$faces faces in `$(`$photos.Count) photos."
"@
                Write-Line '> fresh pwsh: Import-Module ModelCache (installed package), Save-Model | Test-ModelHash, Invoke-FaceDetect'
                $code = Invoke-PwshScript $smoke $environment
                if ($code -ne 0) { throw "The installed package failed its round trip (exit code $code)." }

                if (-not [System.IO.File]::Exists($pesterRunner)) { throw "Pester: $pesterRunner is missing." }
                [void][System.IO.Directory]::CreateDirectory($testResults)
                $pesterXml = [System.IO.Path]::Combine($testResults, 'pester-package.xml')
                $pester = $modulePathScript + @"

& $(ConvertTo-Literal $pesterRunner) -Module ModelCache -OutputFile $(ConvertTo-Literal $pesterXml)
exit `$LASTEXITCODE
"@
                Write-Line "> fresh pwsh: $pesterRunner -Module ModelCache (installed package)"
                $code = Invoke-PwshScript $pester $environment
                if ([System.IO.File]::Exists($pesterXml)) {
                    Write-Line "Package tests: $(Format-TestCounts @($pesterXml))"
                    Add-TestCounts $allTests $pesterXml
                    Write-FailedTests @($pesterXml)
                }
                if ($code -ne 0) { throw "Pester against the installed package failed (exit code $code)." }
            } finally {
                try { [System.IO.Directory]::Delete($sandbox, $true) } catch { Write-Line "Could not remove ${sandbox}: $($_.Exception.Message)" }
            }
        }
        'Demo' {
            Import-Module $manifest -Force
            $name = $Model
            if (-not $name) {
                $name = 'RetinaFace/MNET_V2'
                if ($Mirror -and [System.IO.Directory]::Exists($Mirror)) {
                    # A folder mirror (e.g. the fixture models) may not hold the uniface default.
                    $default = Get-ModelCatalog -Name $name
                    $fallback = Get-ModelCatalog -Name 'RetinaFace/MNET_025_BIUBUG6'
                    if (-not [System.IO.File]::Exists([System.IO.Path]::Combine($Mirror, $default.FileName)) -and
                        [System.IO.File]::Exists([System.IO.Path]::Combine($Mirror, $fallback.FileName))) {
                        Write-Line "$Mirror has no $($default.FileName); the demo uses $($fallback.Name) ($($fallback.FileName)) instead."
                        $name = 'RetinaFace/MNET_025_BIUBUG6'
                    }
                }
            }
            $save = @{ Name = $name }
            if ($Mirror) { $save.Mirror = $Mirror }
            Write-Line "> Save-Model $name | Test-ModelHash"
            Save-Model @save | Test-ModelHash | Out-Host
            $photos = $ImagePath
            if (-not $photos) { $photos = [System.IO.Path]::Combine($fixtures, 'images') }
            if ([System.IO.Directory]::Exists($photos)) {
                $files = [string[]]@([System.IO.Directory]::GetFiles($photos) | Where-Object { $_ -match '\.(jpe?g|png)$' })
                [System.Array]::Sort($files, [System.StringComparer]::Ordinal)
                if ($files.Count -eq 0) { throw "No .jpg, .jpeg or .png files in $photos." }
                Write-Line "> Invoke-FaceDetect -Model $name ($($files.Count) photos in $photos)"
                Invoke-FaceDetect -LiteralPath $files -Model $name | Out-Host
            } else {
                Write-Line "No photos at $photos (pass -ImagePath <folder>): Invoke-FaceDetect skipped."
            }
        }
        default { throw "Unknown task '$step'. Use Build, Test, Package, TestPackage or Demo." }
    }
    Write-Line "=== $step done in $([int]$stepClock.Elapsed.TotalSeconds) s"
}
if ($allTests.Passed + $allTests.Failed + $allTests.Skipped -gt 0) {
    Write-Line "Total: $($allTests.Passed) passed, $($allTests.Failed) failed, $($allTests.Skipped) skipped"
}
