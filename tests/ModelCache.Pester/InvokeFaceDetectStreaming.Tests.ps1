# Invoke-FaceDetect streams: results come out while the input is still arriving, memory stays bounded
# (a bounded number of images in flight), repeats are processed, order is kept unless -Unordered, and
# Ctrl+C stops it promptly. Every pipeline that could hang runs in a runspace of its own with a timeout,
# so a regression fails the test instead of hanging the run.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'stream'
    $script:Photos = Join-Path $Sandbox.Root 'photos'
    $null = New-Item -ItemType Directory -Path $Photos
    Copy-Item (Join-Path $FixtureImages 'zidane.jpg'), (Join-Path $FixtureImages 'portrait.jpg'), (Join-Path $FixtureImages 'linzaer_13.jpg') -Destination $Photos
    $script:Portrait = Join-Path $Photos 'portrait.jpg'
    $script:Zidane = Join-Path $Photos 'zidane.jpg'
    $script:Small = Join-Path $Photos 'linzaer_13.jpg'
    # Saves the model into the sandbox cache once, so the runspaces below only load it.
    $null = Invoke-FaceDetect -LiteralPath $Portrait -Model $Slim

    # Runs $Script (with $Arguments) in a new runspace that imports the module under test; throws when
    # it takes longer than $Seconds (after stopping it).
    function Invoke-Bounded([string] $Script, [object[]] $Arguments, [int] $Seconds = 120) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModuleUnderTest' -ErrorAction Stop").AddStatement().AddScript($Script)
            foreach ($argument in $Arguments) { $null = $ps.AddArgument($argument) }
            $handle = $ps.BeginInvoke()
            if (-not $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Seconds))) {
                $null = $ps.BeginStop($null, $null)
                throw "The pipeline did not finish within $Seconds s."
            }

            $output = $ps.EndInvoke($handle)
            [pscustomobject]@{ Output = @($output); Errors = @($ps.Streams.Error) }
        }
        finally {
            if ($ps.InvocationStateInfo.State -ne 'Running') { $ps.Dispose() }
        }
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Invoke-FaceDetect streaming' {
    It 'writes results while the input is still coming: an upstream that waits for the first result completes, after a bounded number of inputs' {
        # The upstream keeps sending (at most 200) paths until a result has reached the downstream
        # ForEach-Object, then blocks on the flag with a timeout. Buffering until EndProcessing never
        # sets the flag before the input ends, so it throws; a bounded queue sets it within its bound.
        $script = {
            param($Path, $Model)
            $flag = [System.Threading.ManualResetEventSlim]::new($false)
            $state = @{ Sent = 0; SentWhenFirst = -1 }
            $results = & {
                while (-not $flag.IsSet -and $state.Sent -lt 200) { $state.Sent++; $Path }
                if (-not $flag.Wait([TimeSpan]::FromSeconds(30))) { throw "No result arrived while the input was still open ($($state.Sent) paths sent)." }
                $Path
                $state.Sent++
            } | Invoke-FaceDetect -Model $Model -ThrottleLimit 2 | ForEach-Object { if (-not $flag.IsSet) { $state.SentWhenFirst = $state.Sent; $flag.Set() }; $_ }
            [pscustomobject]@{ Sent = $state.Sent; SentWhenFirst = $state.SentWhenFirst; Results = @($results).Count; Faces = @($results.FaceCount | Sort-Object -Unique) }
        }.ToString()
        $run = Invoke-Bounded $script @($Portrait, $Slim)
        $run.Errors | Should -BeNullOrEmpty
        $r = $run.Output[0]
        $r.SentWhenFirst | Should -BeGreaterThan 0
        $r.SentWhenFirst | Should -BeLessOrEqual 20 -Because 'at most MaxInFlight (2 decoders and 2 inference workers: 10) images are in flight before the first result is written'
        $r.Results | Should -Be $r.Sent -Because 'the same path sent again and again is processed every time'
        $r.Faces | Should -Be @(1)
    }

    It 'processes a path given twice twice, in input order by default' {
        $out = Invoke-FaceDetect -LiteralPath $Portrait, $Zidane, $Portrait, $Small, $Portrait -Model $Slim -ThrottleLimit 2
        @($out).Count | Should -Be 5
        @($out | ForEach-Object { Split-Path -Leaf $_.Path }) | Should -Be @('portrait.jpg', 'zidane.jpg', 'portrait.jpg', 'linzaer_13.jpg', 'portrait.jpg')
        @($out.FaceCount) | Should -Be @(1, 3, 1, 2, 1)
    }

    It 'keeps input order over many images even when later ones finish first (small images after a large one)' {
        $paths = @(1..6 | ForEach-Object { $Zidane; $Small; $Small; $Portrait })
        $out = Invoke-FaceDetect -LiteralPath $paths -Model $Slim -ThrottleLimit 3
        @($out.Path) | Should -Be $paths
    }

    It '-Unordered writes every result (as completed)' {
        $paths = @(1..4 | ForEach-Object { $Zidane; $Small; $Portrait })
        $out = Invoke-FaceDetect -LiteralPath $paths -Model $Slim -ThrottleLimit 2 -Unordered
        @($out).Count | Should -Be $paths.Count
        @($out.Path | Sort-Object) | Should -Be @($paths | Sort-Object)
    }

    It 'errors stay non-terminating with their ids, in their place in the stream' {
        $bad = Join-Path $Sandbox.Root 'broken.jpg'
        Set-Content -LiteralPath $bad -Value 'not an image'
        $missing = Join-Path $Photos 'missing.jpg'
        $all = Invoke-FaceDetect -LiteralPath $Portrait, $bad, $missing, $Small -Model $Slim -ErrorVariable errs -ErrorAction SilentlyContinue
        @($all).Count | Should -Be 2
        @($errs.FullyQualifiedErrorId | ForEach-Object { ($_ -split ',')[0] } | Sort-Object) | Should -Be @('ImageDecodeFailed', 'ImageNotFound')
        ($errs | Where-Object FullyQualifiedErrorId -like 'ImageDecodeFailed,*').TargetObject | Should -Be $bad
    }

    It 'gives the annotated copies of a repeated path distinct, stable names (occurrence index)' {
        $out = Join-Path $Sandbox.Root 'annotated-repeats'
        $null = Invoke-FaceDetect -LiteralPath $Portrait, $Portrait, $Portrait -Model $Slim -AnnotatedPath $out -Confirm:$false
        @(Get-ChildItem -LiteralPath $out -Name | Sort-Object) | Should -Be @('portrait-2.jpg', 'portrait-3.jpg', 'portrait.jpg')
    }

    It 'Select-Object -First 1 downstream ends an endless input after the first result, without errors' {
        $script = {
            param($Path, $Model)
            $state = @{ Sent = 0 }
            $first = & { while ($state.Sent -lt 500) { $state.Sent++; $Path } } | Invoke-FaceDetect -Model $Model -ThrottleLimit 2 | Select-Object -First 1
            [pscustomobject]@{ Sent = $state.Sent; Faces = $first.FaceCount }
        }.ToString()
        $run = Invoke-Bounded $script @($Small, $Slim) -Seconds 60
        $run.Errors | Should -BeNullOrEmpty
        $run.Output[0].Faces | Should -Be 2
        $run.Output[0].Sent | Should -BeLessThan 500 -Because 'the upstream is stopped once the first result is taken'
    }

    It 'stops promptly on Ctrl+C (StopProcessing) while the input is endless' {
        $flag = [System.Threading.ManualResetEventSlim]::new($false)
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModuleUnderTest' -ErrorAction Stop").AddStatement().AddScript({
                    param($Path, $Model, $Flag)
                    & { for ($i = 0; $i -lt 100000; $i++) { $Path } } | Invoke-FaceDetect -Model $Model -ThrottleLimit 2 | ForEach-Object { $Flag.Set() }
                }.ToString()).AddArgument($Zidane).AddArgument($Slim).AddArgument($flag)
            $handle = $ps.BeginInvoke()
            $flag.Wait([TimeSpan]::FromSeconds(60)) | Should -BeTrue -Because 'results stream before the input ends'
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $stop = $ps.BeginStop($null, $null)
            $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(15)) | Should -BeTrue -Because 'Stop must not wait for the endless input'
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $handle.IsCompleted | Should -BeTrue
        }
        finally {
            if ($ps.InvocationStateInfo.State -ne 'Running') { $ps.Dispose() }
        }
    }
}

Describe 'Invoke-FaceDetect never destroys its inputs' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'outputs'
        $script:Photos = Join-Path $Sandbox.Root 'photos'
        $null = New-Item -ItemType Directory $Photos
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg') $Photos
        $script:Original = (Get-FileHash (Join-Path $Photos 'portrait.jpg')).Hash
    }

    It 'refuses to write annotated copies over the photos themselves, even with -Force' {
        $null = Invoke-FaceDetect -LiteralPath (Join-Path $Photos 'portrait.jpg') -Model $Slim -AnnotatedPath $Photos -Force -ErrorVariable refused -ErrorAction SilentlyContinue
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'OutputWouldOverwriteSource,*'
        (Get-FileHash (Join-Path $Photos 'portrait.jpg')).Hash | Should -Be $Original
    }

    It 'does not overwrite an existing output without -Force, and does with it' {
        $out = Join-Path $Sandbox.Root 'annotated'
        $null = New-Item -ItemType Directory $out
        Set-Content -LiteralPath (Join-Path $out 'portrait.jpg') -Value 'mine'
        $null = Invoke-FaceDetect -LiteralPath (Join-Path $Photos 'portrait.jpg') -Model $Slim -AnnotatedPath $out -ErrorVariable exists -ErrorAction SilentlyContinue
        ($exists | Where-Object FullyQualifiedErrorId -like 'OutputExists,*') | Should -Not -BeNullOrEmpty
        Get-Content -LiteralPath (Join-Path $out 'portrait.jpg') | Should -Be 'mine'

        $null = Invoke-FaceDetect -LiteralPath (Join-Path $Photos 'portrait.jpg') -Model $Slim -AnnotatedPath $out -Force
        (Get-Item (Join-Path $out 'portrait.jpg')).Length | Should -BeGreaterThan 1000
    }

    It 'refuses an image over -MaxPixels with ImageTooLarge naming the file' {
        $png = Join-Path $Sandbox.Root 'big.png'
        Copy-Item (Join-Path $FixtureImages 'gorilla.png') $png
        $results = Invoke-FaceDetect -LiteralPath $png -Model $Slim -MaxPixels 1000 -ErrorVariable tooLarge -ErrorAction SilentlyContinue
        $results | Should -BeNullOrEmpty
        $tooLarge[0].FullyQualifiedErrorId | Should -BeLike 'ImageTooLarge,*'
        $tooLarge[0].Exception.Message | Should -BeLike '*big.png*'
    }
}
