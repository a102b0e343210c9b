#Requires -Version 7.2
# Start-ModelCacheServer in a real child pwsh on loopback: queried over HTTP, stopped with SIGINT (Ctrl+C) or SIGTERM
# (systemd's stop), with nothing partial left behind in the cache or the export folder.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'server'
    $null = Save-Model $Yolo -ErrorAction Stop
    # Larger than what loopback socket buffers absorb, so a slow client's response is still in flight at the stop.
    $script:BigFile = Join-Path $Sandbox.Root 'big.onnx'
    $bytes = [byte[]]::new(64MB); [Random]::new(7).NextBytes($bytes); [IO.File]::WriteAllBytes($BigFile, $bytes)
    $script:Big = Import-Model -LiteralPath $BigFile -Name Server/BIG -ErrorAction Stop
    $script:Token = 'pester-admin-token-0123456789'
    $script:Exports = Join-Path $Sandbox.Root 'exports'

    # Starts the server in a child pwsh; returns the process, its output file and the base address it listens on.
    function Start-ServerProcess {
        param([string] $Name, [string] $ExtraArguments = '')
        $uriFile = Join-Path $Sandbox.Root "$Name.uri"
        $script = Join-Path $Sandbox.Root "$Name.ps1"
        @"
Import-Module '$ModuleUnderTest' -ErrorAction Stop
Start-ModelCacheServer -Port 0 -ExportPath '$Exports' -InformationAction Continue $ExtraArguments | ForEach-Object { Set-Content -LiteralPath '$uriFile' -Value `$_.Uri }
"@ | Set-Content -LiteralPath $script
        $command = @(Get-PwshCommand)
        $arguments = @($command | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script)
        $output = Join-Path $Sandbox.Root "$Name.out"
        $env:MODELCACHE_ADMIN_TOKEN = $Token
        try {
            $process = Start-Process -FilePath $command[0] -ArgumentList $arguments -RedirectStandardOutput $output -RedirectStandardError "$output.err" -PassThru
        }
        finally {
            $env:MODELCACHE_ADMIN_TOKEN = $null
        }
        $clock = [Diagnostics.Stopwatch]::StartNew()
        while (-not (Test-Path $uriFile) -or -not (Get-Content -LiteralPath $uriFile -Raw)) {
            if ($process.HasExited -or $clock.Elapsed.TotalSeconds -gt 60) {
                if (-not $process.HasExited) { $process.Kill($true) }
                throw "the server did not start: $(Get-Content -Raw $output -ErrorAction SilentlyContinue) $(Get-Content -Raw "$output.err" -ErrorAction SilentlyContinue)"
            }
            Start-Sleep -Milliseconds 100
        }
        [pscustomobject]@{ Process = $process; Output = $output; Uri = (Get-Content -LiteralPath $uriFile -Raw).Trim() }
    }

    function Stop-ServerProcess {
        param($Server, [string] $Signal)
        & /bin/kill -s $Signal $Server.Process.Id
        $exited = $Server.Process.WaitForExit(30000)
        if (-not $exited) { $Server.Process.Kill($true) }
        $exited
    }

    function Get-LeftoverFiles {
        @(Get-ChildItem -LiteralPath $Sandbox.Cache, $Exports -Recurse -File -Force -ErrorAction SilentlyContinue |
            Where-Object { $_.Name -like '*.partial*' -or $_.Name -like '*.tmp' })
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Start-ModelCacheServer in a child process' -Skip:(-not $IsLinux) {
    It 'serves a verified model, the index, info and an export, logs each request, and stops cleanly on SIGINT' {
        $server = Start-ServerProcess 'sigint'
        try {
            $file = Join-Path $TestDrive 'served.onnx'
            $response = Invoke-WebRequest "$($server.Uri)models/$YoloFile" -OutFile $file -PassThru
            (Get-FileHash -LiteralPath $file -Algorithm SHA256).Hash.ToLowerInvariant() | Should -Be $YoloSha
            "$($response.Headers.ETag)" | Should -Be "`"$YoloSha`""

            (Invoke-RestMethod "$($server.Uri)index.json").models.fileName | Should -Contain $YoloFile
            (Invoke-RestMethod "$($server.Uri)api/models/cache/info").entryCount | Should -Be 2
            (Invoke-WebRequest "$($server.Uri)api/models/export" -Method Post -Body '{}' -SkipHttpErrorCheck).StatusCode | Should -Be 401
            $export = Invoke-RestMethod "$($server.Uri)api/models/export" -Method Post -Body '{}' -ContentType application/json -Headers @{ Authorization = "Bearer $Token" }
            Test-Path -LiteralPath $export.path | Should -BeTrue
            Split-Path -Parent $export.path | Should -Be $Exports
        }
        finally {
            $exited = Stop-ServerProcess $server 'INT'
        }

        $exited | Should -BeTrue -Because 'Ctrl+C stops the server'
        $log = Get-Content -LiteralPath $server.Output
        @($log | Where-Object { $_ -like "GET /models/$YoloFile 200 $YoloSize *ms" }).Count | Should -Be 1
        @($log | Where-Object { $_ -like 'POST /api/models/export 401 *' }).Count | Should -Be 1
        ($log -join "`n") | Should -Not -Match ([regex]::Escape($Token))
        Get-LeftoverFiles | Should -BeNullOrEmpty
    }

    # -BehindProxy: the listener itself holds the response (through the connection gate, two hops of loopback buffers
    # may take in the whole file, and the stop then cuts the gate's relay instead, which the log does not show).
    It 'cuts a slow response in flight and exits on SIG<Signal>, leaving nothing partial' -ForEach @(@{ Signal = 'INT' }, @{ Signal = 'TERM' }) {
        $curl = Get-Command curl -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $curl) { Set-ItResult -Skipped -Because 'curl is not installed'; return }
        $server = Start-ServerProcess "slow-$Signal" -ExtraArguments "-BehindProxy"
        $received = Join-Path $TestDrive 'slow.onnx'
        $client = Start-Process -FilePath $curl.Source -ArgumentList @('-s', '--limit-rate', '1M', '-o', $received, "$($server.Uri)models/$($Big.FileName)") -PassThru
        try {
            $clock = [Diagnostics.Stopwatch]::StartNew()
            while (-not (Test-Path $received) -or (Get-Item $received).Length -lt 1MB) {
                if ($clock.Elapsed.TotalSeconds -gt 20) { throw 'the slow download did not start' }
                Start-Sleep -Milliseconds 100
            }
        }
        finally {
            $exited = Stop-ServerProcess $server $Signal
        }

        $exited | Should -BeTrue -Because 'the signal stops the server within the grace period'
        $client.WaitForExit(30000) | Should -BeTrue
        $client.ExitCode | Should -Not -Be 0 -Because 'an aborted response must not look complete to the client'
        (Get-Item $received).Length | Should -BeLessThan 64MB
        if ($Signal -eq 'INT') {
            # Ctrl+C stops through the cmdlet: the grace period runs out, the response is aborted and logged as 499.
            # SIGTERM ends the process through ProcessExit, whose pipeline no longer writes the log (README: KillSignal=SIGINT).
            @(Get-Content -LiteralPath $server.Output | Where-Object { $_ -like "GET /models/$($Big.FileName) 499 *" }).Count | Should -Be 1 -Because 'the log says the response was aborted'
        }
        Get-LeftoverFiles | Should -BeNullOrEmpty
    }

    It 'pulls an uncached model through once for many clients at a time, and every body verifies' {
        # The child inherits the sandbox's mirror (the fixture folder, offline): the server fetches from there.
        $slim = Get-ModelCatalog $Slim
        Get-ModelCache $Slim -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # All 20 wait on the one upstream fetch at once: above the default 16 per address the gate would answer 503.
        $server = Start-ServerProcess 'pull' '-MaxConnectionsPerAddress 32'
        try {
            $url = "$($server.Uri)models/$($slim.FileName)"
            $folder = Join-Path $TestDrive 'pulled'
            $null = New-Item -ItemType Directory -Path $folder -Force
            $hashes = 1..20 | ForEach-Object -ThrottleLimit 20 -Parallel {
                $target = Join-Path $using:folder "$_.onnx"
                Invoke-WebRequest $using:url -OutFile $target
                (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant()
            }
        }
        finally {
            $null = Stop-ServerProcess $server 'INT'
        }

        @($hashes).Count | Should -Be 20
        @($hashes | Select-Object -Unique) | Should -Be @($slim.Sha256)
        "$((Test-ModelHash $Slim).Status)" | Should -Be 'Valid' -Because 'the server kept the verified file'
        @(Get-Content -LiteralPath $server.Output | Where-Object { $_ -like "GET /models/$($slim.FileName) 200 *" }).Count | Should -Be 20
        Get-LeftoverFiles | Should -BeNullOrEmpty
    }
}

Describe 'The site server API from PowerShell' -Skip:(-not $IsLinux) {
    It 'lists its endpoints and cached models, points /models/ to the index, and pulls a model by name with NDJSON progress' {
        Clear-ModelCache -Name $Slim -Confirm:$false -ErrorAction SilentlyContinue
        $server = Start-ServerProcess 'api'
        try {
            $root = Invoke-RestMethod "$($server.Uri)"
            $root.openapi | Should -Be '/openapi.json'
            $root.endpoints.path | Should -Contain '/api/models/pull'
            (Invoke-RestMethod "$($server.Uri)openapi.json").openapi | Should -Be '3.1.0'
            (Invoke-RestMethod "$($server.Uri)models/").index | Should -Be '/models/index.json'
            $listed = (Invoke-RestMethod "$($server.Uri)api/models").models
            $listed.name | Should -Contain $Yolo
            $listed.name | Should -Not -Contain (Get-ModelCatalog $Slim).Name

            $headers = @{ Authorization = "Bearer $Token" }
            $refused = Invoke-WebRequest "$($server.Uri)api/models/pull" -Method Post -Headers $headers -ContentType application/json -Body '{"names": ["https://example.invalid/x.onnx"]}' -SkipHttpErrorCheck
            $refused.StatusCode | Should -Be 400
            ($refused.Content | ConvertFrom-Json).errorId | Should -Be 'PullNameInvalid'
            $unknown = Invoke-WebRequest "$($server.Uri)api/models/pull" -Method Post -Headers $headers -ContentType application/json -Body '{"names": ["Nope/Nothing"], "force": true}' -SkipHttpErrorCheck
            ($unknown.Content | ConvertFrom-Json).errorId | Should -Be 'RequestBodyUnknownMember'

            $pull = Invoke-WebRequest "$($server.Uri)api/models/pull" -Method Post -Headers $headers -ContentType application/json -Body (@{ names = @($Slim) } | ConvertTo-Json)
            "$($pull.Headers['Content-Type'])" | Should -BeLike 'application/x-ndjson*'
            $lines = [Text.Encoding]::UTF8.GetString($pull.RawContentStream.ToArray()) -split "`n" | Where-Object { $_ } | ConvertFrom-Json
            $lines[-1].status | Should -Be 'success'
            @($lines | Where-Object status -eq 'verified').Count | Should -Be 1
            (Invoke-RestMethod "$($server.Uri)api/models").models.name | Should -Contain (Get-ModelCatalog $Slim).Name
        }
        finally {
            $null = Stop-ServerProcess $server 'INT'
        }

        "$((Test-ModelHash $Slim).Status)" | Should -Be 'Valid' -Because 'the pulled file landed verified'
        @(Get-Content -LiteralPath $server.Output | Where-Object { $_ -like 'POST /api/models/pull 200 *' }).Count | Should -Be 1
        Get-LeftoverFiles | Should -BeNullOrEmpty
    }
}

Describe 'Start-ModelCacheServer in a pipeline that stops early' {
    It 'stops serving when Select-Object -First 1 takes its info object' {
        $info = Start-ModelCacheServer -Port 0 | Select-Object -First 1
        $info.Uri | Should -Not -BeNullOrEmpty
        # Before the fix the listener went on answering inside this process after the cmdlet returned.
        { Invoke-WebRequest "$($info.Uri)metrics" -TimeoutSec 5 } | Should -Throw
    }
}
