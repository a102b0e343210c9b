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
    $registry = Start-TestRegistry -Binary $Binary.Source -Root (Join-Path $TestDrive 'registry') -Log 'accesslog:', '  disabled: false'
    $script:Registry = $registry.Process
    $script:Port = $registry.Port
    Publish-TestRegistryBlob -Base $registry.Base -Repository models -Path (Join-Path $FixtureModels $YoloFile) -Sha256 $YoloSha
    $script:Reference = "oci://127.0.0.1:$Port/models"
}

AfterAll {
    if ($script:Registry) { Stop-Process -Id $script:Registry.Id -ErrorAction SilentlyContinue }
    Exit-ModelCacheSandbox
}

Describe 'Save-Model -Mirror oci://' {
    BeforeEach {
        if ($NoRegistry -and $env:CI -eq 'true') { throw 'docker-registry is not installed (apt-get install docker-registry).' }
        $script:Sandbox = Enter-RegistrySandbox 'registry'
        $env:MODELCACHE_OFFLINE = $null
    }

    AfterEach {
        Restore-DockerConfig $Sandbox
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

        $basic = @{ Authorization = 'Basic ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${User}:$Password")) }
        $registry = Start-TestRegistry -Binary $Binary.Source -Root $tls -Headers $basic `
            -Http 'tls:', "  certificate: $(Join-Path $tls 'server.pem')", "  key: $(Join-Path $tls 'server.key')" `
            -Auth 'htpasswd:', '  realm: pester', "  path: $(Join-Path $tls 'htpasswd')"
        $script:TlsRegistry = $registry.Process
        $script:TlsPort = $registry.Port
        Publish-TestRegistryBlob -Base $registry.Base -Repository models -Path (Join-Path $FixtureModels $YoloFile) -Sha256 $YoloSha -Headers $basic
        $script:TlsReference = "oci://127.0.0.1:$TlsPort/models"
    }

    AfterAll {
        if ($script:TlsRegistry) { Stop-Process -Id $script:TlsRegistry.Id -ErrorAction SilentlyContinue }
    }

    BeforeEach {
        if ($NoTls -and $env:CI -eq 'true') { throw 'docker-registry or htpasswd is not installed (apt-get install docker-registry apache2-utils).' }
        $script:Sandbox = Enter-RegistrySandbox 'registry-tls'
        $env:MODELCACHE_OFFLINE = $null
        $script:SavedCertFile = $env:SSL_CERT_FILE
    }

    AfterEach {
        Restore-DockerConfig $Sandbox
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
