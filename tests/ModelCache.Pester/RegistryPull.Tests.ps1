# Import-ModelCache -Registry and Sync-ModelCache -Manifest oci://…: a bundle artifact (config = the manifest.json of a
# bundle Export-ModelCache wrote, one layer per model file) is built as an OCI image layout, pushed by skopeo to the
# real CNCF distribution registry (docker-registry), and imported and synced from there. On CI (CI=true) a missing
# docker-registry or skopeo fails the tests instead of skipping them (.ci/run installs both).

BeforeDiscovery {
    $script:NoTools = -not (Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue) -or
        -not (Get-Command skopeo -CommandType Application -ErrorAction SilentlyContinue)
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:Binary = Get-Command docker-registry -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $script:Skopeo = Get-Command skopeo -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $Binary -or -not $Skopeo) { return }
    $root = Join-Path $TestDrive 'registry'
    $registry = Start-TestRegistry -Binary $Binary.Source -Root $root
    $script:Registry = $registry.Process
    $script:Port = $registry.Port

    # A bundle folder written by Export-ModelCache, turned into an OCI image layout: its manifest.json is the config
    # blob, each model file a layer titled with its file name.
    $sandbox = Enter-ModelCacheSandbox 'registry-push'
    $null = Save-Model $Yolo, $Slim
    $bundle = Join-Path $root 'bundle'
    $null = Export-ModelCache -Name $Yolo, $Slim -Path $bundle
    $layout = Join-Path $root 'layout'
    $blobs = New-Item -ItemType Directory -Path (Join-Path $layout 'blobs/sha256')
    function Add-Blob([string] $Path) {
        $hex = (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
        Copy-Item -LiteralPath $Path -Destination (Join-Path $blobs $hex)
        @{ digest = "sha256:$hex"; size = (Get-Item -LiteralPath $Path).Length }
    }
    $configBlob = Add-Blob (Join-Path $bundle 'manifest.json')
    $layers = foreach ($model in (Get-Content -Raw (Join-Path $bundle 'manifest.json') | ConvertFrom-Json).models) {
        $blob = Add-Blob (Join-Path $bundle $model.fileName)
        [ordered]@{ mediaType = 'application/vnd.modelcache.model.file.v1'; digest = $blob.digest; size = $blob.size
            annotations = @{ 'org.opencontainers.image.title' = $model.fileName } }
    }
    $manifest = [ordered]@{
        schemaVersion = 2
        mediaType     = 'application/vnd.oci.image.manifest.v1+json'
        artifactType  = 'application/vnd.modelcache.bundle.v1'
        config        = [ordered]@{ mediaType = 'application/vnd.modelcache.bundle.manifest.v1+json'; digest = $configBlob.digest; size = $configBlob.size }
        layers        = @($layers)
    } | ConvertTo-Json -Depth 8 -Compress
    $manifestFile = Join-Path $root 'manifest.json'
    [IO.File]::WriteAllText($manifestFile, $manifest)
    $manifestBlob = Add-Blob $manifestFile
    $script:Digest = $manifestBlob.digest
    [IO.File]::WriteAllText((Join-Path $layout 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    [IO.File]::WriteAllText((Join-Path $layout 'index.json'), (@{ schemaVersion = 2; manifests = @(@{
        mediaType = 'application/vnd.oci.image.manifest.v1+json'; digest = $manifestBlob.digest; size = $manifestBlob.size
        annotations = @{ 'org.opencontainers.image.ref.name' = 'v1' } }) } | ConvertTo-Json -Depth 6 -Compress))
    $pushed = & $Skopeo.Source --insecure-policy copy --dest-tls-verify=false "oci:${layout}:v1" "docker://127.0.0.1:$Port/site/bundle:v1" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "skopeo copy failed: $pushed" }
    $script:Artifact = "oci://127.0.0.1:$Port/site/bundle"
}

AfterAll {
    if ($script:Registry) { Stop-Process -Id $script:Registry.Id -ErrorAction SilentlyContinue }
    Exit-ModelCacheSandbox
}

Describe 'Import-ModelCache -Registry and Sync-ModelCache -Manifest oci://' {
    BeforeEach {
        if ($NoTools -and $env:CI -eq 'true') { throw 'docker-registry or skopeo is not installed (apt-get install docker-registry skopeo).' }
        $script:Sandbox = Enter-RegistrySandbox 'registry-pull'
        $env:MODELCACHE_OFFLINE = $null
        $env:MODELCACHE_MIRROR = $null
    }

    AfterEach {
        Restore-DockerConfig $Sandbox
    }

    It 'imports what skopeo pushed, verified, and copies nothing the second time' -Skip:($NoTools -and $env:CI -ne 'true') {
        $first = Import-ModelCache -Registry "${Artifact}:v1"
        $again = Import-ModelCache -Registry "$Artifact@$Digest"

        @($first | ForEach-Object { "$($_.Status)" }) | Should -Be @('Imported', 'Imported')
        @($first | Sort-Object Name | ForEach-Object Name) | Should -Be @($Slim, $Yolo)
        $first[0].Bundle | Should -Be "${Artifact}:v1"
        @(Get-ModelCache | Test-ModelHash | ForEach-Object { "$($_.Status)" }) | Should -Be @('Valid', 'Valid')
        @($again | ForEach-Object { "$($_.Status)" }) | Should -Be @('Skipped', 'Skipped')
    }

    It 'syncs a cache to the artifact: -WhatIf changes nothing, -Prune removes what it does not list' -Skip:($NoTools -and $env:CI -ne 'true') {
        $null = Save-Model $Rfb -Mirror $FixtureModels -MirrorOnly
        $null = Sync-ModelCache -Manifest "$Artifact@$Digest" -Prune -WhatIf
        @(Get-ModelCache).Name | Should -Be @($Rfb)

        $summary = Sync-ModelCache -Manifest "$Artifact@$Digest" -Prune -Confirm:$false

        $summary.Added | Should -Be 2
        $summary.Removed | Should -Be 1
        $summary.Manifest | Should -Be "$Artifact@$Digest"
        @(Get-ModelCache | Sort-Object Name).Name | Should -Be @($Slim, $Yolo)
    }

    It 'imports what Export-ModelCache -Registry pushed, by the pinned reference it printed' -Skip:($NoTools -and $env:CI -ne 'true') {
        $null = Save-Model $Yolo, $Slim -Mirror $FixtureModels -MirrorOnly
        $pushed = Export-ModelCache -Name $Yolo, $Slim -Registry "${Artifact}:roundtrip"
        $other = Join-Path $Sandbox.Root 'other-cache'

        $imported = Import-ModelCache -Registry $pushed.PinnedReference -CachePath $other -TimeoutSec 30

        @($imported | ForEach-Object { "$($_.Status)" }) | Should -Be @('Imported', 'Imported')
        @(Get-ModelCache -CachePath $other | Test-ModelHash | ForEach-Object { "$($_.Status)" }) | Should -Be @('Valid', 'Valid')
    }

    It 'names a missing tag, a malformed reference and offline mode as errors' {
        { Import-ModelCache -Registry 'oci://127.0.0.1/models' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArtifactReference*'
        { Import-ModelCache -Path 'oci://127.0.0.1/models:v1' -ErrorAction Stop } | Should -Throw -ErrorId 'RegistryReferenceInPath*'
        { Import-ModelCache -LiteralPath 'oci://127.0.0.1/models:v1' -ErrorAction Stop } | Should -Throw -ErrorId 'RegistryReferenceInPath*'
        $env:MODELCACHE_OFFLINE = '1'
        { Import-ModelCache -Registry 'oci://127.0.0.1/models:v1' -ErrorAction Stop } | Should -Throw -ErrorId 'RegistryManifestOffline*'
        { Sync-ModelCache -Manifest 'oci://127.0.0.1/models:v1' -ErrorAction Stop } | Should -Throw -ErrorId 'RegistryManifestOffline*'
    }

    It 'says a tag the registry lacks is missing' -Skip:($NoTools -and $env:CI -ne 'true') {
        { Import-ModelCache -Registry "${Artifact}:nope" -ErrorAction Stop } | Should -Throw -ErrorId 'RegistryArtifactNotFound*'
    }
}
