# Export-ModelCache -Registry oci://…:tag: cached models pushed as one artifact to the real CNCF distribution registry
# (docker-registry), pushed again without uploading anything, and pulled back as a mirror blob by Save-Model. On CI
# (CI=true) a missing docker-registry fails the tests instead of skipping them (.ci/run installs it).

BeforeDiscovery {
    $script:NoRegistry = -not (Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue)
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:Binary = Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $Binary) { return }
    $registry = Start-TestRegistry -Binary $Binary.Source -Root (Join-Path $TestDrive 'push-registry')
    $script:Registry = $registry.Process
    $script:Port = $registry.Port
}

AfterAll {
    if ($script:Registry) { Stop-Process -Id $script:Registry.Id -ErrorAction SilentlyContinue }
    Exit-ModelCacheSandbox
}

Describe 'Export-ModelCache -Registry' {
    BeforeEach {
        if ($NoRegistry -and $env:CI -eq 'true') { throw 'docker-registry is not installed (apt-get install docker-registry).' }
        $script:Sandbox = Enter-RegistrySandbox 'push'
        $null = Save-Model $Yolo, $Slim
    }

    AfterEach {
        Restore-DockerConfig $Sandbox
    }

    It 'pushes the selected models as one artifact, and a second push uploads nothing' -Skip:($NoRegistry -and $env:CI -ne 'true') {
        $reference = "oci://127.0.0.1:$Port/site/detectors:v1"

        $first = Export-ModelCache -Name $Yolo, $Slim -Registry $reference
        $second = Export-ModelCache -Name $Yolo, $Slim -Registry $reference

        $first.Reference | Should -Be $reference
        $first.Models | Should -Be @($Yolo, $Slim)
        $first.Layers | Should -Be 2
        $first.BlobsUploaded | Should -Be 3
        $first.Digest | Should -Match '^sha256:[0-9a-f]{64}$'
        $second.Digest | Should -Be $first.Digest
        $second.BlobsUploaded | Should -Be 0
        $second.BlobsSkipped | Should -Be 3
        $second.TagUpdated | Should -BeFalse
        $manifest = Invoke-RestMethod "http://127.0.0.1:$Port/v2/site/detectors/manifests/v1" -Headers @{ Accept = 'application/vnd.oci.image.manifest.v1+json' }
        $manifest.config.mediaType | Should -Be 'application/vnd.modelcache.bundle.manifest.v1+json'
        $manifest.layers[0].annotations.'org.opencontainers.image.title' | Should -Be $YoloFile
        $manifest.layers[0].annotations.'io.modelcache.model.name' | Should -Be $Yolo
        $manifest.layers[0].digest | Should -Be "sha256:$YoloSha"
        ($first | Format-Table | Out-String -Width 120) | Should -Match ([regex]::Escape($reference))
    }

    It 'pushes a layer that Save-Model then reads from the registry as a mirror' -Skip:($NoRegistry -and $env:CI -ne 'true') {
        $null = Export-ModelCache -Name $Yolo -Registry "oci://127.0.0.1:$Port/fleet/models:latest"
        $other = Join-Path $Sandbox.Root 'other-cache'
        $env:MODELCACHE_OFFLINE = $null

        $saved = Save-Model $Yolo -Mirror "oci://127.0.0.1:$Port/fleet/models" -MirrorOnly -CachePath $other

        $saved.SourceUrl | Should -Be "oci://127.0.0.1:$Port/fleet/models@sha256:$YoloSha"
        $saved.Sha256 | Should -Be $YoloSha
    }

    It 'pushes nothing with -WhatIf' -Skip:($NoRegistry -and $env:CI -ne 'true') {
        $result = Export-ModelCache -Name $Yolo -Registry "oci://127.0.0.1:$Port/whatif/models:v1" -WhatIf

        $result | Should -BeNullOrEmpty
        (Invoke-WebRequest "http://127.0.0.1:$Port/v2/whatif/models/manifests/v1" -SkipHttpErrorCheck).StatusCode | Should -Be 404
    }

    It 'refuses a reference without a tag, or by digest, before anything is sent' {
        { Export-ModelCache -Name $Yolo -Registry 'oci://127.0.0.1:9/models' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArtifactReference*'
        { Export-ModelCache -Name $Yolo -Registry "oci://127.0.0.1:9/models@sha256:$YoloSha" -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArtifactReference*'
    }

    It 'keeps a registry reference out of -Path and -Path out of a push' {
        { Export-ModelCache -Name $Yolo -Registry 'oci://127.0.0.1:9/models:v1' -Path ./x.zip -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
        { Export-ModelCache -Name $Yolo -Registry 'oci://127.0.0.1:9/models:v1' -AsMirror -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
    }

    It 'refuses to push Hugging Face hub files' {
        { Export-ModelCache -Layout HuggingFace -Registry 'oci://127.0.0.1:9/models:v1' -ErrorAction Stop } | Should -Throw -ErrorId 'LayoutNotSupported*'
    }
}
