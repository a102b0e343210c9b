# Save-Model -Mirror oci://…: a catalog model pushed as a blob to the real CNCF distribution registry (docker-registry)
# is saved and verified; a model the registry lacks falls through to the next mirror; behind TLS with a test CA (trusted
# through $env:SSL_CERT_FILE only) and htpasswd accounts, -Credential signs in and failures are named without the secret.
# On CI (CI=true) a missing docker-registry or htpasswd fails the tests instead of skipping them (.ci/run installs them).

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

# TLS with a test CA trusted only through $env:SSL_CERT_FILE (never installed), htpasswd accounts (bcrypt, htpasswd -B).
Describe 'Save-Model -Mirror oci:// over TLS with a sign-in' {
    BeforeAll {
        $script:NoTls = -not $Binary -or -not (Get-Command htpasswd -CommandType Application -ErrorAction SilentlyContinue)
        if ($NoTls) { return }
        $tls = Join-Path $TestDrive 'tls'
        $null = New-Item -ItemType Directory -Path $tls
        $now = [DateTimeOffset]::UtcNow
        $caKey = [Security.Cryptography.ECDsa]::Create([Security.Cryptography.ECCurve+NamedCurves]::nistP256)
        $caRequest = [Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=ModelCache Pester CA', $caKey, 'SHA256')
        $caRequest.CertificateExtensions.Add([Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
        $caRequest.CertificateExtensions.Add([Security.Cryptography.X509Certificates.X509KeyUsageExtension]::new('KeyCertSign, CrlSign', $true))
        $ca = $caRequest.CreateSelfSigned($now.AddMinutes(-5), $now.AddDays(1))
        $serverKey = [Security.Cryptography.ECDsa]::Create([Security.Cryptography.ECCurve+NamedCurves]::nistP256)
        $serverRequest = [Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=127.0.0.1', $serverKey, 'SHA256')
        $names = [Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder]::new()
        $names.AddIpAddress([Net.IPAddress]::Loopback)
        $serverRequest.CertificateExtensions.Add($names.Build())
        $serverCert = $serverRequest.Create($ca, $now.AddMinutes(-5), $now.AddDays(1), [byte[]](1..12))
        $script:CaFile = Join-Path $tls 'ca.pem'
        Set-Content -LiteralPath $CaFile -Value $ca.ExportCertificatePem()
        Set-Content -LiteralPath (Join-Path $tls 'server.pem') -Value $serverCert.ExportCertificatePem()
        Set-Content -LiteralPath (Join-Path $tls 'server.key') -Value $serverKey.ExportPkcs8PrivateKeyPem()
        $script:User = 'alice'
        $script:Password = 'Pester-Secret-8Jq2'
        & htpasswd -B -b -c (Join-Path $tls 'htpasswd') $User $Password 2>$null

        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start(); $script:TlsPort = $listener.LocalEndpoint.Port; $listener.Stop()
        $config = Join-Path $tls 'config.yml'
        @"
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $(Join-Path $tls 'storage')
http:
  addr: 127.0.0.1:$TlsPort
  tls:
    certificate: $(Join-Path $tls 'server.pem')
    key: $(Join-Path $tls 'server.key')
auth:
  htpasswd:
    realm: pester
    path: $(Join-Path $tls 'htpasswd')
"@ | Set-Content -LiteralPath $config
        $script:TlsRegistry = Start-Process -FilePath $Binary.Source -ArgumentList 'serve', $config -PassThru `
            -RedirectStandardError (Join-Path $tls 'stderr.log') -RedirectStandardOutput (Join-Path $tls 'stdout.log')
        $base = "https://127.0.0.1:$TlsPort"
        $basic = @{ Authorization = 'Basic ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${User}:$Password")) }
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        do {
            Start-Sleep -Milliseconds 100
            # The test's own setup requests only: the registry's certificate is checked by the module under test.
            $up = try { (Invoke-WebRequest "$base/v2/" -Headers $basic -SkipCertificateCheck -SkipHttpErrorCheck -TimeoutSec 2).StatusCode -eq 200 } catch { $false }
        } until ($up -or [DateTime]::UtcNow -gt $deadline)
        if (-not $up) { throw "docker-registry (TLS) did not start: $(Get-Content -Raw (Join-Path $tls 'stderr.log'))" }
        $start = Invoke-WebRequest -Method Post -Uri "$base/v2/models/blobs/uploads/" -Body ([byte[]]::new(0)) -Headers $basic -SkipCertificateCheck
        $location = [Uri]::new([Uri]$base, "$($start.Headers.Location)").AbsoluteUri
        $separator = if ($location.Contains('?')) { '&' } else { '?' }
        $null = Invoke-WebRequest -Method Put -Uri "$location${separator}digest=sha256:$YoloSha" -InFile (Join-Path $FixtureModels $YoloFile) `
            -ContentType 'application/octet-stream' -Headers $basic -SkipCertificateCheck
        $script:TlsReference = "oci://127.0.0.1:$TlsPort/models"
    }

    AfterAll {
        if ($script:TlsRegistry) { Stop-Process -Id $script:TlsRegistry.Id -ErrorAction SilentlyContinue }
    }

    BeforeEach {
        if ($NoTls -and $env:CI -eq 'true') { throw 'docker-registry or htpasswd is not installed (apt-get install docker-registry apache2-utils).' }
        $script:Sandbox = Enter-ModelCacheSandbox 'registry-tls'
        $env:MODELCACHE_OFFLINE = $null
        $script:SavedDockerConfig = $env:DOCKER_CONFIG
        $script:SavedCertFile = $env:SSL_CERT_FILE
        $env:DOCKER_CONFIG = Join-Path $Sandbox.Root 'docker'
    }

    AfterEach {
        $env:DOCKER_CONFIG = $script:SavedDockerConfig
        $env:SSL_CERT_FILE = $script:SavedCertFile
    }

    It 'saves through TLS with the CA in $env:SSL_CERT_FILE and -Credential' -Skip:($NoTls -and $env:CI -ne 'true') {
        $env:SSL_CERT_FILE = $CaFile
        $credential = [pscredential]::new($User, (ConvertTo-SecureString $Password -AsPlainText -Force))

        $saved = Save-Model $Yolo -Mirror $TlsReference -MirrorOnly -Credential $credential

        $saved.SourceUrl | Should -Be "oci://127.0.0.1:$TlsPort/models@sha256:$YoloSha"
        "$(($saved | Test-ModelHash).Status)" | Should -Be 'Valid'
    }

    It 'names a wrong password, and the password is in no error, warning or verbose text' -Skip:($NoTls -and $env:CI -ne 'true') {
        $env:SSL_CERT_FILE = $CaFile
        $wrong = 'Wrong-Pester-Pw-55x'
        $credential = [pscredential]::new($User, (ConvertTo-SecureString $wrong -AsPlainText -Force))

        $said = Save-Model $Yolo -Mirror $TlsReference -MirrorOnly -Credential $credential -Verbose -ErrorVariable failed -ErrorAction SilentlyContinue *>&1 | Out-String

        $failed.FullyQualifiedErrorId | Should -BeLike 'RegistryAccessDenied*'
        ($said + ($failed | Out-String) + ($failed.ErrorDetails.RecommendedAction -join ' ')) | Should -Not -Match ([regex]::Escape($wrong))
    }

    It 'refuses the registry without the CA: RegistryCertificateInvalid, nothing saved' -Skip:($NoTls -and $env:CI -ne 'true') {
        $env:SSL_CERT_FILE = $null
        $credential = [pscredential]::new($User, (ConvertTo-SecureString $Password -AsPlainText -Force))

        Save-Model $Yolo -Mirror $TlsReference -MirrorOnly -Credential $credential -ErrorVariable failed -ErrorAction SilentlyContinue

        $failed.FullyQualifiedErrorId | Should -BeLike 'RegistryCertificateInvalid*'
        Get-ModelCache -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
