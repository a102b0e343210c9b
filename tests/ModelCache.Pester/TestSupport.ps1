# Shared by every *.Tests.ps1: dot-source it in BeforeAll.
#
# The module under test comes from $env:MODELCACHE_TEST_MODULE (a psd1 path or a module name, set
# by Invoke-ModelCachePester.ps1), else the repository's ModelCache.psd1. Nothing in the suite may
# reach the internet or the real user profile: Enter-ModelCacheSandbox points every location
# setting at $TestDrive, sets MODELCACHE_OFFLINE=1 and uses the fixture models as the mirror.
#
# Type names are compared as strings, never as [ModelCache.X] literals: the module's assemblies
# may load into their own AssemblyLoadContext, where type literals in scripts do not resolve.

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
$script:FixtureRoot = if ($env:MODELCACHE_FIXTURES) { $env:MODELCACHE_FIXTURES } else { Join-Path $RepoRoot '../shared/fixtures' }
$script:FixtureRoot = (Resolve-Path $FixtureRoot).ProviderPath
$script:FixtureModels = Join-Path $FixtureRoot 'models'
$script:FixtureImages = Join-Path $FixtureRoot 'images'
$script:ModuleUnderTest = if ($env:MODELCACHE_TEST_MODULE) { $env:MODELCACHE_TEST_MODULE } else { Join-Path $RepoRoot 'ModelCache.psd1' }

# Catalog entries whose files are in the fixture mirror (the small ones).
$script:Yolo = 'YOLOv8Face/YOLOV8_LITE_T'
$script:YoloFile = 'yolov8-lite-t-face.onnx'
$script:YoloSha = 'caa9eb121eee8fbf25a5985d3cee4e314df5a08feb4bb8c224fecdeb4afd9b86'
$script:YoloSize = 2424912
$script:Slim = 'UltraFace/SLIM_320'
$script:Rfb = 'UltraFace/RFB_320'

$script:TypeNames = @{
    CatalogEntry = 'ModelCache.Catalog.ModelCatalogEntry'
    CacheEntry   = 'ModelCache.Store.ModelCacheEntry'
    HashResult   = 'ModelCache.Integrity.ModelHashResult'
    Location     = 'ModelCache.Locations.CacheLocation'
    DetectResult = 'ModelCache.Inference.FaceDetectionResult'
    Face         = 'ModelCache.Inference.Face'
}

$script:IsolatedVariables = @(
    'MODELCACHE_HOME', 'MODELCACHE_OFFLINE', 'MODELCACHE_MIRROR', 'MODELCACHE_MIRROR_ONLY', 'MODELCACHE_CATALOG',
    'MODELCACHE_TOKEN', 'MODELCACHE_MACHINE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'UNIFACE_CACHE_DIR',
    'HF_HOME', 'HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_ENDPOINT', 'HF_TOKEN', 'HF_HUB_OFFLINE', 'HF_HUB_DISABLE_SYMLINKS'
)

function Import-ModelCacheUnderTest {
    Import-Module $script:ModuleUnderTest -ErrorAction Stop
}

# Points the cache, the user settings and the mirror at a fresh folder under $TestDrive; offline.
function Enter-ModelCacheSandbox {
    param([string] $Name = 'sandbox')
    if (-not $script:SavedEnvironment) {
        $script:SavedEnvironment = @{}
        foreach ($variable in $script:IsolatedVariables) {
            $script:SavedEnvironment[$variable] = [Environment]::GetEnvironmentVariable($variable)
        }
    }
    foreach ($variable in $script:IsolatedVariables) { [Environment]::SetEnvironmentVariable($variable, $null) }
    $root = Join-Path $TestDrive ($Name + '-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
    $null = New-Item -ItemType Directory -Path $root
    $sandbox = [pscustomobject]@{
        Root   = $root
        Cache  = Join-Path $root 'cache'
        Config = Join-Path $root 'config'
        Uniface = Join-Path $root 'uniface'
        HubCache = Join-Path $root 'hf/hub'
    }
    $env:MODELCACHE_HOME = $sandbox.Cache
    $env:XDG_CONFIG_HOME = $sandbox.Config
    # Never the real /etc/modelcache/config.json: CI runs as root.
    $env:MODELCACHE_MACHINE_CONFIG = Join-Path $root 'machine/config.json'
    $env:XDG_CACHE_HOME = Join-Path $root 'xdg-cache'
    $env:MODELCACHE_OFFLINE = '1'
    $env:MODELCACHE_MIRROR = $script:FixtureModels
    $env:UNIFACE_CACHE_DIR = $sandbox.Uniface
    $env:HF_HOME = Join-Path $root 'hf'
    $env:HF_HUB_OFFLINE = '1'
    Set-ModelCacheLocation -Reset -Confirm:$false -Scope Process
    Reset-ProcessModelLocations
    Reset-ProcessSettings
    $sandbox
}

# Per-model locations set with -Scope Process outlive a test like the process root does.
function Reset-ProcessModelLocations {
    Get-ModelCacheLocation -ListModels | Where-Object { "$($_.Source)" -eq 'ProcessSetting' } |
        ForEach-Object { Set-ModelCacheLocation -Name $_.Model -Reset -Confirm:$false -WarningAction SilentlyContinue -Scope Process }
}

# The quota and catalog registrations made with -Scope Process live as long as the module, like the process root.
function Reset-ProcessSettings {
    Set-ModelCacheQuota -Reset -Scope Process -Confirm:$false
    Unregister-ModelCatalog -Path * -Scope Process -Confirm:$false
}

function Exit-ModelCacheSandbox {
    Set-ModelCacheLocation -Reset -Confirm:$false -ErrorAction SilentlyContinue -Scope Process
    Reset-ProcessModelLocations
    Reset-ProcessSettings
    if ($script:SavedEnvironment) {
        foreach ($pair in $script:SavedEnvironment.GetEnumerator()) { [Environment]::SetEnvironmentVariable($pair.Key, $pair.Value) }
    }
}

function Get-TypeName {
    param([Parameter(ValueFromPipeline)] $InputObject)
    process { $InputObject.PSObject.TypeNames[0] }
}

# The pwsh that runs this suite, as a command line for a child process: the dotnet host plus
# pwsh.dll for a tool-installed pwsh, or the pwsh executable itself.
function Get-PwshCommand {
    $executable = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $arguments = [Environment]::GetCommandLineArgs()
    if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet' -and $arguments.Count -gt 0 -and $arguments[0] -like '*.dll') {
        return @($executable, $arguments[0])
    }
    if ([IO.Path]::GetFileNameWithoutExtension($executable) -eq 'dotnet') {
        return @($executable, (Join-Path $PSHOME 'pwsh.dll'))
    }
    @($executable)
}

# Runs a script file in a separate pwsh process; returns its exit code and output lines.
function Invoke-ChildPwsh {
    param([string] $ScriptPath, [string[]] $Arguments = @())
    $command = @(Get-PwshCommand)
    $prefix = @(if ($command.Count -gt 1) { $command[1..($command.Count - 1)] })
    $output = & $command[0] @prefix -NoProfile -NonInteractive -File $ScriptPath @Arguments 2>&1 | ForEach-Object { "$_" -replace '\x1b\[[0-9;?]*[A-Za-z]', '' }
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
}

# A user catalog mapping the uniface names that help and docs examples use (RetinaFace/MNET_V2, SCRFD/SCRFD_10G_KPS,
# YOLOv5Face/YOLOV5S, ArcFace/MNET) onto fixture files (same hash and size), as a user catalog may override built-in
# entries. Returns its path.
function New-ExampleCatalog {
    param([Parameter(Mandatory)] [string] $Path)
    $fixtures = @{
        'RetinaFace/MNET_V2'   = @('face_detection', 'retinaface_mnet025_biubug6.onnx')
        'SCRFD/SCRFD_10G_KPS'  = @('face_detection', 'scrfd_2.5g_kps.onnx')
        'YOLOv5Face/YOLOV5S'   = @('face_detection', 'yolov5n-0.5-face.onnx')
        'ArcFace/MNET'         = @('face_recognition', 'face_detection_front_128x128_barracuda.onnx')
    }
    $models = foreach ($pair in $fixtures.GetEnumerator()) {
        $family, $member = $pair.Key -split '/'
        $file = Join-Path $script:FixtureModels $pair.Value[1]
        [ordered]@{
            family = $family; member = $member; task = $pair.Value[0]; fileName = $pair.Value[1]
            url = "https://example.invalid/$($pair.Value[1])"; size = (Get-Item $file).Length
            sha256 = (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant()
        }
    }
    @{ models = @($models) } | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $Path
    $Path
}

# Makes 'Import-Module ModelCache' (and command autoloading) find the module under test by name, as an installed
# module is found: a folder named ModelCache linked under $Folder, put first on PSModulePath, which child pwsh
# processes inherit. Returns the name (or the module name under test when it is already one). Restore
# $env:PSModulePath afterwards.
function Enable-ModelCacheByName {
    param([Parameter(Mandatory)] [string] $Folder)
    if ($script:ModuleUnderTest -notlike '*.psd1') { return $script:ModuleUnderTest }
    if (-not (Test-Path -LiteralPath (Join-Path $Folder 'ModelCache'))) {
        $null = New-Item -ItemType Directory -Force -Path $Folder
        $linkType = if ($IsWindows) { 'Junction' } else { 'SymbolicLink' }
        $null = New-Item -ItemType $linkType -Path (Join-Path $Folder 'ModelCache') -Target (Split-Path -Parent (Resolve-Path $script:ModuleUnderTest).ProviderPath)
    }
    $env:PSModulePath = $Folder + [IO.Path]::PathSeparator + $env:PSModulePath
    'ModelCache'
}

# The working folder examples run in, inside a sandbox from Enter-ModelCacheSandbox: the photos and files the
# examples name, the example catalog in MODELCACHE_CATALOG, and a cache holding four models. Returns the folder.
function Initialize-ExampleWorkspace {
    param([Parameter(Mandatory)] $Sandbox, [Parameter(Mandatory)] [string] $Catalog)
    $env:MODELCACHE_CATALOG = $Catalog
    $work = Join-Path $Sandbox.Root 'work'
    foreach ($dir in 'photos', 'badges', 'model-mirror') { $null = New-Item -ItemType Directory -Path (Join-Path $work $dir) }
    Copy-Item (Join-Path $script:FixtureImages 'portrait.jpg'), (Join-Path $script:FixtureImages 'zidane.jpg') -Destination (Join-Path $work 'photos')
    Copy-Item (Join-Path $script:FixtureImages 'portrait.jpg') -Destination $work
    Copy-Item (Join-Path $script:FixtureImages 'zidane.jpg') -Destination (Join-Path $work 'team.jpg')
    Copy-Item (Join-Path $script:FixtureImages 'gorilla.png') -Destination (Join-Path $work 'scan.png')
    Copy-Item (Join-Path $script:FixtureImages 'gorilla.png') -Destination (Join-Path $work 'badges')
    Copy-Item (Join-Path $script:FixtureModels $script:YoloFile), (Join-Path $script:FixtureModels 'version-slim-320.onnx') -Destination (Join-Path $work 'model-mirror')
    Copy-Item (Join-Path $script:FixtureModels 'version-RFB-320.onnx') -Destination (Join-Path $work 'custom-detector.onnx')
    # A cache with something in it, as the listing and clearing examples expect.
    $null = Save-Model $script:Yolo, $script:Slim, RetinaFace/MNET_V2, ArcFace/MNET -ErrorAction Stop
    $work
}

# Runs example code in a fresh runspace (no host UI, so a prompt fails instead of hanging) in $Work, with the module
# imported by $Module (a name when Enable-ModelCacheByName made one, so an example's own 'Import-Module ModelCache' is
# a no-op). Returns Output, Errors (id: message), HadErrors and Failure (a terminating exception, else null).
function Invoke-ExampleCode {
    param([Parameter(Mandatory)] [string] $Code, [Parameter(Mandatory)] [string] $Work, [Parameter(Mandatory)] [string] $Module)
    $ps = [powershell]::Create()
    try {
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', $Module).AddStatement()
        $null = $ps.AddCommand('Set-Location').AddParameter('LiteralPath', $Work).AddStatement()
        $null = $ps.AddScript($Code)
        $failure = $null
        $output = $null
        try { $output = $ps.Invoke() } catch { $failure = $_.Exception.InnerException ?? $_.Exception }
        [pscustomobject]@{
            Output    = $output
            Errors    = @($ps.Streams.Error | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" })
            HadErrors = $ps.HadErrors
            Failure   = $failure
        }
    }
    finally {
        $ps.Dispose()
    }
}

# Builds one repo of a Hugging Face hub cache by hand, as huggingface_hub lays it out:
# blobs/<sha256>, snapshots/<commit>/<path> as relative links to ../../blobs/<id> (or copies with
# -Copy), and refs/<name> holding the commit id without a newline. $Files maps repo paths to text.
# Returns the repo folder and, per path, the blob id.
function New-TestHubRepo {
    param(
        [Parameter(Mandatory)] [string] $Root,
        [Parameter(Mandatory)] [string] $Repo,
        [Parameter(Mandatory)] [string] $Commit,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Files,
        [string[]] $Ref = @('main'),
        [switch] $Copy
    )
    $folder = Join-Path $Root ('models--' + ($Repo -replace '/', '--'))
    $blobs = Join-Path $folder 'blobs'
    $snapshot = Join-Path $folder "snapshots/$Commit"
    $null = New-Item -ItemType Directory -Force -Path $blobs, $snapshot, (Join-Path $folder 'refs')
    $ids = [ordered]@{}
    foreach ($pair in $Files.GetEnumerator()) {
        $bytes = [Text.Encoding]::UTF8.GetBytes([string] $pair.Value)
        $id = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($bytes)).ToLowerInvariant()
        $ids[$pair.Key] = $id
        [IO.File]::WriteAllBytes((Join-Path $blobs $id), $bytes)
        $target = Join-Path $snapshot $pair.Key
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $target)
        if ($Copy) {
            [IO.File]::WriteAllBytes($target, $bytes)
        }
        else {
            $up = '../' * (1 + ($pair.Key -split '/').Count)
            $null = [IO.File]::CreateSymbolicLink($target, "${up}blobs/$id")
        }
    }
    foreach ($name in $Ref) { [IO.File]::WriteAllText((Join-Path $folder "refs/$name"), $Commit) }
    [pscustomobject]@{ Folder = $folder; Blobs = $ids; Commit = $Commit }
}

# What a person reads in an 80-column console, as the default view (or with -List the default list) shows $Objects:
# no .NET type name where a value should be, no '{[key, value]}' dictionary dump; and in a list, no 00:00:08.7877215
# duration (the list views format them; objects of a second type in one output fall back to all their properties).
function Assert-ReadableOutput {
    param([object[]] $Objects, [string] $Context, [switch] $List)
    if (-not $Objects) { return }
    $text = if ($List) { $Objects | Format-List | Out-String -Width 80 } else { $Objects | Out-String -Width 80 }
    $text | Should -Not -Match '\bModelCache\.[A-Z]\w*\.[A-Z]\w*' -Because "no raw type name should show ($Context):`n$text"
    $text | Should -Not -Match '\{\[' -Because "no raw dictionary should show ($Context):`n$text"
    if ($List) { $text | Should -Not -Match '\d\d:\d\d:\d\d\.\d{4,}' -Because "durations should read for people ($Context):`n$text" }
}


# A real CNCF distribution registry (docker-registry) on 127.0.0.1 at a free port, storing under $Root, for the
# registry tests. -Log, -Http and -Auth are YAML lines added under log:, http: and as an auth: section (an access log,
# TLS, htpasswd). Waits until /v2/ answers 200 (the setup's own request: -Headers, and no certificate check with TLS,
# which is the module's to check) and returns Process, Port and Base (http[s]://127.0.0.1:<port>).
function Start-TestRegistry {
    param(
        [Parameter(Mandatory)] [string] $Binary,
        [Parameter(Mandatory)] [string] $Root,
        [string[]] $Log = @(),
        [string[]] $Http = @(),
        [string[]] $Auth = @(),
        [hashtable] $Headers = @{}
    )
    $null = New-Item -ItemType Directory -Path $Root -Force
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $lines = @('version: 0.1', 'log:', '  level: warn') + ($Log | ForEach-Object { "  $_" }) +
        @('storage:', '  filesystem:', "    rootdirectory: $(Join-Path $Root 'storage')", 'http:', "  addr: 127.0.0.1:$port") + ($Http | ForEach-Object { "  $_" })
    if ($Auth) { $lines += @('auth:') + ($Auth | ForEach-Object { "  $_" }) }
    $config = Join-Path $Root 'config.yml'
    $lines | Set-Content -LiteralPath $config
    $process = Start-Process -FilePath $Binary -ArgumentList 'serve', $config -PassThru `
        -RedirectStandardError (Join-Path $Root 'stderr.log') -RedirectStandardOutput (Join-Path $Root 'stdout.log')
    $tls = [bool]($Http | Where-Object { $_ -match '^tls:' })
    $base = "$(if ($tls) { 'https' } else { 'http' })://127.0.0.1:$port"
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    do {
        Start-Sleep -Milliseconds 100
        $up = try { (Invoke-WebRequest "$base/v2/" -Headers $Headers -SkipCertificateCheck:$tls -SkipHttpErrorCheck -TimeoutSec 2).StatusCode -eq 200 } catch { $false }
    } until ($up -or [DateTime]::UtcNow -gt $deadline)
    if (-not $up) { throw "docker-registry$(if ($tls) { ' (TLS)' }) did not start: $(Get-Content -Raw (Join-Path $Root 'stderr.log'))" }
    [pscustomobject]@{ Process = $process; Port = $port; Base = $base }
}

# Pushes $Path as a blob of $Repository with the distribution spec's monolithic upload (POST -> Location, PUT
# <Location>&digest=sha256:<hex>), as the setup's own request (-Headers; no certificate check over https).
function Publish-TestRegistryBlob {
    param([string] $Base, [string] $Repository, [string] $Path, [string] $Sha256, [hashtable] $Headers = @{})
    $tls = $Base.StartsWith('https:')
    $start = Invoke-WebRequest -Method Post -Uri "$Base/v2/$Repository/blobs/uploads/" -Body ([byte[]]::new(0)) -Headers $Headers -SkipCertificateCheck:$tls
    $location = [Uri]::new([Uri]$Base, "$($start.Headers.Location)").AbsoluteUri
    $separator = if ($location.Contains('?')) { '&' } else { '?' }
    $null = Invoke-WebRequest -Method Put -Uri "$location${separator}digest=sha256:$Sha256" -InFile $Path -ContentType 'application/octet-stream' -Headers $Headers -SkipCertificateCheck:$tls
}

# For each registry test: a fresh sandbox, and never the machine's own ~/.docker/config.json (Restore-DockerConfig
# puts the caller's back in AfterEach).
function Enter-RegistrySandbox([string] $Name) {
    $sandbox = Enter-ModelCacheSandbox $Name
    $sandbox | Add-Member -NotePropertyName SavedDockerConfig -NotePropertyValue $env:DOCKER_CONFIG
    $env:DOCKER_CONFIG = Join-Path $sandbox.Root 'docker'
    $sandbox
}

function Restore-DockerConfig([object] $Sandbox) {
    $env:DOCKER_CONFIG = $Sandbox.SavedDockerConfig
}
