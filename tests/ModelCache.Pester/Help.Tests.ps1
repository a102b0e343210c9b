# Cmdlet help as Get-Help shows it, and every example actually run.
#
# Examples run in a fresh runspace (no host UI, so a prompt fails instead of hanging), offline,
# in a sandbox under $TestDrive: the fixture models are the mirror, the working directory holds
# the photos and files the examples name, and a site catalog maps the uniface names the examples
# use (RetinaFace/MNET_V2, SCRFD/SCRFD_10G_KPS, YOLOv5Face/YOLOV5S, ArcFace/MNET) onto fixture
# files, as a user catalog may override built-in entries. An example that cannot run here is
# listed in $NotRunnable with the reason; every cmdlet keeps at least two runnable examples.

BeforeDiscovery {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest

    $script:NotRunnable = @{
        'Save-Model 2'             = 'sets MODELCACHE_MIRROR to a Windows share and D: drive'
        'Save-Model 3'             = 'reads a USB disk at E:\modelcache'
        'Save-Model 4'             = 'downloads from an internal HTTPS mirror'
        'Save-Model 5'             = 'prompts for credentials and uses an HTTPS mirror through a proxy'
        'Save-Model 6'             = 'saves every default model of the catalog: uniface downloads not in the fixture mirror'
        'Save-Model 9'             = 'downloads from huggingface.co'
        'Get-ModelCatalog 2'       = 'saves every uncached RetinaFace and SCRFD model: uniface downloads not in the fixture mirror'
        'Get-ModelCatalog 5'       = 'reads a site catalog from a Windows share'
        'Get-ModelCache 2'         = 'reads the machine path /srv/modelcache'
        'Clear-ModelCache 3'       = 'clears the machine path /srv/modelcache'
        'Set-ModelCacheLocation 1' = 'creates D:\ModelCache, a Windows drive'
        'Set-ModelCacheLocation 3' = 'creates the machine path /srv/modelcache'
        'Test-ModelHash 5'         = 'the hash shown is a placeholder for a published one'
        'Test-ModelCache 2'        = 'shows drift, which Test-ModelCache reports as errors by design'
        'Register-ModelCatalog 3'  = 'registers a catalog on a Windows share'
        'Start-ModelCacheServer 3' = 'runs a server in the foreground until Ctrl+C, on every interface, from machine paths'
        'Start-ModelCacheServer 4' = 'calls a server on another host (cachehost) with a token'
        'Import-ModelCache 6'      = 'reads a bundle from a registry on another host (registry.example.com)'
        'Sync-ModelCache 4'        = 'reads its manifest from a registry on another host (registry.example.com)'
        'Export-ModelCache 6'      = 'pushes to a registry at registry.example.com'
    }

    # Examples that are scheduled jobs: also run as a script with a real `pwsh -NonInteractive -File`, which must exit
    # 0 as the sandbox stands, and non-zero once every cached model is corrupt and no mirror can replace them
    # (non-terminating errors), and once a catalog it reads is invalid (a terminating error).
    $script:Jobs = @('Test-ModelHash 2', 'Sync-ModelCache 3', 'Import-ModelCache 3')

    # What some examples must leave behind or write, beyond running without errors.
    # Each gets the example's output and its working directory.
    $script:Checks = @{
        'Save-Model 1'             = { param($Output, $Work) "$($Output.Status)" | Should -Be 'Valid'; $Output.Name | Should -Be 'RetinaFace/MNET_V2' }
        'Save-Model 7'             = { param($Output, $Work) "$((Get-ModelCache YOLOv5Face/YOLOV5S).LastCheck)" | Should -Be 'Passed' }
        'Test-ModelHash 1'         = { param($Output, $Work) "$($Output.Status)" | Should -Be 'Valid' }
        'Test-ModelHash 4'         = { param($Output, $Work) $Output | Should -BeNullOrEmpty -Because 'every file in ./model-mirror is valid' }
        'Get-ModelCatalog 4'       = { param($Output, $Work)
            $rows = @(Import-Csv (Join-Path $Work 'mirror-manifest.csv'))
            $rows.Count | Should -Be @(Get-ModelCatalog -Task face_detection, face_recognition).Count
            $rows[0].PSObject.Properties.Name | Should -Be @('Name', 'FileName', 'Sha256', 'Url')
        }
        'Clear-ModelCache 1'       = { param($Output, $Work) @(Get-ModelCache).Count | Should -Be 4 }
        'Clear-ModelCache 6'       = { param($Output, $Work) @(Get-ModelCache -Layout HuggingFace).Revision | Should -Be 'c0ffee0000000000000000000000000000000005' }
        'Get-ModelCache 6'         = { param($Output, $Work) $Output.FilePath | Should -Be 'config.json' }
        'Save-Model 8'             = { param($Output, $Work) "$($Output.Status)" | Should -Be 'Valid' }
        'Test-ModelHash 6'         = { param($Output, $Work) "$($Output[0].Status)" | Should -Be 'Valid'; $Output[1] | Should -BeTrue }
        'Invoke-FaceDetect 2'      = { param($Output, $Work) Test-Path (Join-Path $Work 'out/team.jpg') | Should -BeTrue }
        'Invoke-FaceDetect 3'      = { param($Output, $Work) @(Get-ChildItem (Join-Path $Work 'badges/faces') -Filter *.png).Count | Should -BeGreaterThan 0 }
        'Invoke-FaceDetect 4'      = { param($Output, $Work) @($Output).Count | Should -BeGreaterThan 0 }
        'Invoke-FaceDetect 6'      = { param($Output, $Work) @($Output)[0].Count | Should -Be 2; Test-Path (Join-Path $Work 'annotated/portrait.jpg'), (Join-Path $Work 'annotated/zidane.jpg') | Should -Be @($true, $true) }
        'Set-ModelCacheLocation 2' = { param($Output, $Work) "$($Output.Status)" | Should -Be 'Valid'; $Output.Path | Should -BeLike (Join-Path $Work 'artifacts/models/*') }
        'Set-ModelCacheLocation 5' = { param($Output, $Work) Test-Path (Join-Path $env:XDG_CONFIG_HOME 'modelcache/settings.json') | Should -BeFalse }
        'Get-ModelCacheLocation 4' = { param($Output, $Work) $Output.Path | Should -Be (Join-Path $Work 'build/models') }
        'Import-ModelCache 4'      = { param($Output, $Work) @(Get-ModelCache -CachePath (Join-Path $Work 'offline-cache') | Sort-Object Name).Name | Should -Be @('UltraFace/SLIM_320', 'YOLOv8Face/YOLOV8_LITE_T') }
    }

    $script:Cmdlets = @(Get-Command -Module ModelCache -CommandType Cmdlet | ForEach-Object {
        $help = Get-Help $_.Name -Full
        @{
            Cmdlet     = $_.Name
            Help       = $help
            Parameters = @($_.Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.Cmdlet]::CommonParameters })
        }
    })

    $script:Examples = foreach ($cmdlet in $Cmdlets) {
        $index = 0
        foreach ($example in @($cmdlet.Help.examples.example)) {
            $index++
            $key = "$($cmdlet.Cmdlet) $index"
            @{
                Cmdlet = $cmdlet.Cmdlet
                Index  = $index
                Title  = ($example.title -replace '^-+\s*|\s*-+$', '')
                Code   = $example.code
                Skip   = $NotRunnable.ContainsKey($key)
                Reason = $NotRunnable[$key]
                Check  = $Checks[$key]
                Job    = $Jobs -contains $key
            }
        }
    }
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Help for <Cmdlet>' -ForEach $Cmdlets {
    It 'has an authored synopsis' {
        $synopsis = "$($Help.Synopsis)".Trim()
        $synopsis.Length | Should -BeGreaterThan 20
        $synopsis | Should -Not -BeLike "$Cmdlet*"
        $synopsis | Should -Not -Match '\[-'
    }

    It 'has a description' {
        ($Help.description.Text -join "`n").Trim().Length | Should -BeGreaterThan 100
    }

    It 'documents every parameter (common parameters aside) with a description' {
        $documented = @{}
        foreach ($parameter in @($Help.parameters.parameter)) { $documented[$parameter.name] = ($parameter.description.Text -join ' ').Trim() }
        foreach ($name in $Parameters) {
            $documented.Keys | Should -Contain $name -Because "$Cmdlet -$name needs help"
            $documented[$name].Length | Should -BeGreaterThan 10 -Because "$Cmdlet -$name needs a description"
        }
        foreach ($name in $documented.Keys) { $Parameters | Should -Contain $name -Because "$Cmdlet has no parameter -$name" }
    }

    It 'has at least two examples that use it and say what they do' {
        $examples = @($Help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            $example.code | Should -Match ([regex]::Escape($Cmdlet))
            ($example.remarks.Text -join ' ').Trim().Length | Should -BeGreaterThan 20
        }
    }

    It 'keeps at least two runnable examples' {
        $runnable = @($Examples | Where-Object { $_.Cmdlet -eq $Cmdlet -and -not $_.Skip })
        $runnable.Count | Should -BeGreaterOrEqual 2
    }
}

Describe 'Help examples run' {
    BeforeAll {
        $script:ExampleCatalog = New-ExampleCatalog (Join-Path $TestDrive 'examples-catalog.json')
        $script:SavedModulePath = $env:PSModulePath
        $script:ExampleModule = Enable-ModelCacheByName (Join-Path $TestDrive 'modules')

        function Initialize-ExampleSandbox {
            $script:Sandbox = Enter-ModelCacheSandbox 'example'
            $script:Work = Initialize-ExampleWorkspace $Sandbox $ExampleCatalog
        }
    }

    AfterAll {
        $env:PSModulePath = $SavedModulePath
    }

    AfterEach {
        Set-ModelCacheLocation -Reset -Confirm:$false -Scope Process
    }

    It '<Cmdlet> example <Index>: <Title>' -ForEach $Examples {
        if ($Skip) {
            Set-ItResult -Skipped -Because $Reason
            return
        }
        Initialize-ExampleSandbox

        $run = Invoke-ExampleCode $Code $Work $ExampleModule
        $run.Failure | Should -BeNullOrEmpty -Because "the example should run:`n$Code"
        $run.Errors | Should -BeNullOrEmpty -Because "the example should run without errors:`n$Code"
        $run.HadErrors | Should -BeFalse
        Assert-ReadableOutput $run.Output -Context 'the example''s output at 80 columns'
        if ($Check) { & $Check $run.Output $Work }
    }

    It '<Cmdlet> example <Index> as a job exits 0, and non-zero with corrupt models or an invalid catalog' -ForEach @($Examples | Where-Object Job) -Tag Job {
        $Skip | Should -BeFalse -Because 'a job example must be runnable'
        foreach ($case in 'good', 'corrupt', 'invalid catalog') {
            Initialize-ExampleSandbox
            if ($case -eq 'invalid catalog') {
                $bad = Join-Path $Sandbox.Root 'broken-catalog.json'
                Set-Content -LiteralPath $bad -Value '{"models": ['
                $env:MODELCACHE_CATALOG = $ExampleCatalog + [IO.Path]::PathSeparator + $bad
            }
            if ($case -eq 'corrupt') {
                Remove-Item Env:MODELCACHE_MIRROR
                foreach ($entry in Get-ModelCache) {
                    $bytes = [IO.File]::ReadAllBytes($entry.Path)
                    $bytes[1000] = $bytes[1000] -bxor 0xFF
                    [IO.File]::WriteAllBytes($entry.Path, $bytes)
                }
            }
            $job = Join-Path $Sandbox.Root 'job.ps1'
            Set-Content -LiteralPath $job -Value $Code
            Push-Location -LiteralPath $Work
            try { $run = Invoke-ChildPwsh $job } finally { Pop-Location }
            $because = "$case`n$Code`n--- output:`n$($run.Output -join "`n")"
            if ($case -eq 'good') { $run.ExitCode | Should -Be 0 -Because $because } else { $run.ExitCode | Should -Not -Be 0 -Because $because }
        }
    }
}
