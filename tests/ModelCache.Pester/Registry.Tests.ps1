# Save-Model -Mirror oci://…: a catalog model pushed as a blob to the real CNCF distribution registry (docker-registry)
# is saved and verified; a model the registry lacks falls through to the next mirror. On CI (CI=true) a missing
# docker-registry fails the tests instead of skipping them (.ci/run installs it).

BeforeDiscovery {
    $script:NoRegistry = -not (Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue)
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:Binary = Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $Binary) { return }
    $root = Join-Path $TestDrive 'registry'
    $null = New-Item -ItemType Directory -Path $root
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start(); $script:Port = $listener.LocalEndpoint.Port; $listener.Stop()
    $config = Join-Path $root 'config.yml'
    @"
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $(Join-Path $root 'storage')
http:
  addr: 127.0.0.1:$Port
"@ | Set-Content -LiteralPath $config
    $script:Registry = Start-Process -FilePath $Binary.Source -ArgumentList 'serve', $config -PassThru `
        -RedirectStandardError (Join-Path $root 'stderr.log') -RedirectStandardOutput (Join-Path $root 'stdout.log')
    $base = "http://127.0.0.1:$Port"
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    do {
        Start-Sleep -Milliseconds 100
        $up = try { (Invoke-WebRequest "$base/v2/" -SkipHttpErrorCheck -TimeoutSec 2).StatusCode -eq 200 } catch { $false }
    } until ($up -or [DateTime]::UtcNow -gt $deadline)
    if (-not $up) { throw "docker-registry did not start: $(Get-Content -Raw (Join-Path $root 'stderr.log'))" }

    # The monolithic upload of the distribution spec: POST → Location, PUT <Location>&digest=sha256:<hex>.
    $start = Invoke-WebRequest -Method Post -Uri "$base/v2/models/blobs/uploads/" -Body ([byte[]]::new(0))
    $location = [Uri]::new([Uri]$base, "$($start.Headers.Location)").AbsoluteUri
    $separator = if ($location.Contains('?')) { '&' } else { '?' }
    $null = Invoke-WebRequest -Method Put -Uri "$location${separator}digest=sha256:$YoloSha" -InFile (Join-Path $FixtureModels $YoloFile) -ContentType 'application/octet-stream'
    $script:Reference = "oci://127.0.0.1:$Port/models"
}

AfterAll {
    if ($script:Registry) { Stop-Process -Id $script:Registry.Id -ErrorAction SilentlyContinue }
    Exit-ModelCacheSandbox
}

Describe 'Save-Model -Mirror oci://' {
    BeforeEach {
        if ($NoRegistry -and $env:CI -eq 'true') { throw 'docker-registry is not installed (apt-get install docker-registry).' }
        $script:Sandbox = Enter-ModelCacheSandbox 'registry'
        $env:MODELCACHE_OFFLINE = $null
        # Never the machine's own ~/.docker/config.json.
        $script:SavedDockerConfig = $env:DOCKER_CONFIG
        $env:DOCKER_CONFIG = Join-Path $Sandbox.Root 'docker'
    }

    AfterEach {
        $env:DOCKER_CONFIG = $script:SavedDockerConfig
    }

    It 'saves a model pushed as the blob of its catalog SHA-256 and verifies it' -Skip:($NoRegistry -and $env:CI -ne 'true') {
        $saved = Save-Model $Yolo -Mirror $Reference -MirrorOnly

        $saved.Source.ToString() | Should -Be 'Mirror'
        $saved.SourceUrl | Should -Be "oci://127.0.0.1:$Port/models@sha256:$YoloSha"
        $saved.Sha256 | Should -Be $YoloSha
        "$(($saved | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'falls through to the next mirror for a model the registry lacks' -Skip:($NoRegistry -and $env:CI -ne 'true') {
        $saved = Save-Model $Slim -Mirror "$Reference;$FixtureModels" -MirrorOnly -WarningVariable warned -WarningAction SilentlyContinue

        $saved.Source.ToString() | Should -Be 'Mirror'
        $saved.SourceUrl | Should -Not -Match '^http'
        "$warned" | Should -Match 'HTTP 404'
    }

    It 'refuses a malformed registry reference before anything is fetched' {
        { Save-Model $Yolo -Mirror 'oci://127.0.0.1/Models:latest' -MirrorOnly -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidRegistryReference*'
    }
}
