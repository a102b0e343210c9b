#Requires -Version 7.2
# A real server process never hands a client the bytes of a local file that a catalog entry's url names, whichever way
# the entry reached its catalog (the user's catalog.json, Register-ModelCatalog, MODELCACHE_CATALOG, -CatalogPath), and
# its answers name no local path.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'pull-local'
    $script:Secrets = Join-Path $Sandbox.Root 'secrets'
    $null = New-Item -ItemType Directory -Path $Secrets

    # One secret file per channel, each a valid catalog entry of its own (so a server that read it would verify it).
    function New-SecretEntry {
        param([string] $Member, [scriptblock] $Url)
        $path = Join-Path $Secrets "$Member.onnx"
        $bytes = [byte[]]::new(300000); [Random]::new($Member.Length * 7 + 1).NextBytes($bytes)
        [IO.File]::WriteAllBytes($path, $bytes)
        [pscustomobject]@{
            Member = $Member
            Path   = $path
            Bytes  = $bytes
            Entry  = [ordered]@{
                family = 'Local'; member = $Member; task = 'face_detection'; fileName = "$($Member.ToLowerInvariant()).onnx"
                url = & $Url $path; sha256 = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant(); size = $bytes.Length
            }
        }
    }

    function Write-Catalog {
        param([string] $Path, $Secret)
        $null = New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path)
        @{ models = @($Secret.Entry) } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $Path
    }

    $script:User = New-SecretEntry 'USER' { param($p) "file://$p" }
    $script:Fleet = New-SecretEntry 'FLEET' { param($p) $p }
    $script:FromEnv = New-SecretEntry 'ENVCAT' { param($p) "file://localhost$p" }
    $script:Cli = New-SecretEntry 'CLI' { param($p) "FILE://$(Split-Path -Parent $p)/./$(Split-Path -Leaf $p)" }
    $script:All = @($User, $Fleet, $FromEnv, $Cli)

    Write-Catalog (Join-Path $env:XDG_CONFIG_HOME 'modelcache/catalog.json') $User
    $fleetPath = Join-Path $Sandbox.Root 'fleet.json'
    Write-Catalog $fleetPath $Fleet
    Register-ModelCatalog -LiteralPath $fleetPath
    $script:EnvCatalog = Join-Path $Sandbox.Root 'env.json'
    Write-Catalog $EnvCatalog $FromEnv
    $script:CliCatalog = Join-Path $Sandbox.Root 'cli.json'
    Write-Catalog $CliCatalog $Cli

    $uriFile = Join-Path $Sandbox.Root 'server.uri'
    $scriptPath = Join-Path $Sandbox.Root 'server.ps1'
    @"
Import-Module '$ModuleUnderTest' -ErrorAction Stop
Start-ModelCacheServer -Port 0 -CatalogPath '$CliCatalog' -InformationAction Continue | ForEach-Object { Set-Content -LiteralPath '$uriFile' -Value `$_.Uri }
"@ | Set-Content -LiteralPath $scriptPath
    $command = @(Get-PwshCommand)
    $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $scriptPath)
    $script:ServerOutput = Join-Path $Sandbox.Root 'server.out'
    $env:MODELCACHE_CATALOG = $EnvCatalog
    # Online and without the sandbox's fixture mirror: the catalog url is the only source the server could try.
    $env:MODELCACHE_OFFLINE = $null
    $mirror, $env:MODELCACHE_MIRROR = $env:MODELCACHE_MIRROR, $null
    try {
        $script:Server = Start-Process -FilePath $command[0] -ArgumentList $arguments -RedirectStandardOutput $ServerOutput -RedirectStandardError "$ServerOutput.err" -PassThru
    }
    finally {
        $env:MODELCACHE_CATALOG = $null
        $env:MODELCACHE_OFFLINE = '1'
        $env:MODELCACHE_MIRROR = $mirror
    }
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while (-not (Test-Path $uriFile) -or -not (Get-Content -LiteralPath $uriFile -Raw)) {
        if ($Server.HasExited -or $clock.Elapsed.TotalSeconds -gt 60) {
            if (-not $Server.HasExited) { $Server.Kill($true) }
            throw "the server did not start: $(Get-Content -Raw $ServerOutput -ErrorAction SilentlyContinue) $(Get-Content -Raw "$ServerOutput.err" -ErrorAction SilentlyContinue)"
        }
        Start-Sleep -Milliseconds 100
    }
    $script:BaseUri = (Get-Content -LiteralPath $uriFile -Raw).Trim()

    # Every local path a body could leak: the sandbox (cache root, catalogs, secrets), the temp folder, any file: URL.
    function Assert-NamesNoLocalPath {
        param([string] $Text)
        $Text | Should -Not -Match ([regex]::Escape($Sandbox.Root))
        $Text | Should -Not -Match ([regex]::Escape([IO.Path]::GetTempPath().TrimEnd('/')))
        $Text | Should -Not -Match 'file:/'
        $Text | Should -Not -Match '(?<![\w.:/-])/(tmp|home|root|etc|srv|var|usr)/'
    }
}

AfterAll {
    if ($Server -and -not $Server.HasExited) {
        & /bin/kill -s INT $Server.Id
        if (-not $Server.WaitForExit(30000)) { $Server.Kill($true) }
    }
    Exit-ModelCacheSandbox
}

Describe 'Pull-through and catalog urls that name local files' -Skip:(-not $IsLinux) {
    It 'never sends a byte of the <Channel> catalog''s local file, and the answer names no path' -ForEach @(
        @{ Channel = 'user catalog.json'; Index = 0 }
        @{ Channel = 'Register-ModelCatalog'; Index = 1 }
        @{ Channel = 'MODELCACHE_CATALOG'; Index = 2 }
        @{ Channel = '-CatalogPath'; Index = 3 }
    ) {
        $secret = $All[$Index]
        $file = Join-Path $TestDrive "got-$($secret.Member)"
        foreach ($range in @($null, 'bytes=0-', 'bytes=1000-2000')) {
            $headers = if ($range) { @{ Range = $range } } else { @{} }
            $response = Invoke-WebRequest "$($BaseUri)models/$($secret.Entry.fileName)" -Headers $headers -SkipHttpErrorCheck -OutFile $file -PassThru
            $response.StatusCode | Should -Be 502 -Because "the server knows the model from the $Channel catalog but must not read its file"
            $body = [IO.File]::ReadAllBytes($file)
            $text = [Text.Encoding]::Latin1.GetString($body)
            $text | Should -Not -Match ([regex]::Escape([Text.Encoding]::Latin1.GetString($secret.Bytes, 1000, 32)))
            Assert-NamesNoLocalPath $text
            $json = $text | ConvertFrom-Json
            $json.errorId | Should -Be 'UpstreamFailed'
            $json.retryable | Should -BeFalse
            $json.message | Should -Match 'LocalCatalogUrlRefused'
            $json.message | Should -Not -Match "\b$($secret.Bytes.Length)\b"
        }
    }

    It 'shows Save-Model the server''s reason once, without retrying an answer the server says will not pass' {
        $target = "GET /models/$($User.Entry.fileName) 502 *"
        $before = @(Get-Content -LiteralPath $ServerOutput | Where-Object { $_ -like $target }).Count
        $result = Save-Model Local/USER -CachePath (Join-Path $TestDrive 'client') -Mirror "$($BaseUri)models" -MirrorOnly -Offline:$false -ErrorVariable failures -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $failures.Count | Should -Be 1
        $failures[0].Exception.Message | Should -Match 'UpstreamFailed'
        $failures[0].Exception.Message | Should -Match 'LocalCatalogUrlRefused'
        "$($failures[0].ErrorDetails.RecommendedAction)" | Should -Not -Match 'mirror is running'
        Assert-NamesNoLocalPath $failures[0].Exception.Message
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (@(Get-Content -LiteralPath $ServerOutput | Where-Object { $_ -like $target }).Count -eq $before -and $clock.Elapsed.TotalSeconds -lt 10) { Start-Sleep -Milliseconds 100 }
        Start-Sleep -Milliseconds 500 # the log line of a retry would follow its request closely
        @(Get-Content -LiteralPath $ServerOutput | Where-Object { $_ -like $target }).Count | Should -Be ($before + 1) -Because 'the answer says it is not retryable'
    }

    It 'keeps the tokenless info and status free of local paths' {
        Assert-NamesNoLocalPath (Invoke-WebRequest "$($BaseUri)api/models/cache/info").Content
        Assert-NamesNoLocalPath (Invoke-WebRequest "$($BaseUri)api/models/status").Content
    }

    It 'copied nothing of the secrets into the cache' {
        @(Get-ChildItem -LiteralPath $Sandbox.Cache -Recurse -File -ErrorAction SilentlyContinue |
            Where-Object { $_.Name -in $All.Entry.fileName -or $_.Name -like '*.partial' }) | Should -BeNullOrEmpty
    }
}
