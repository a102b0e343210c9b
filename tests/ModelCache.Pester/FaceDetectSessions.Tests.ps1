# ONNX Runtime sessions are shared by every call and runspace of a process, and freed when the last
# runspace that imported the module removes it. A process of its own, so that no other test's import
# keeps the module alive.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $child = Join-Path $TestDrive 'sessions.ps1'
    Set-Content $child -Value @'
param([string] $Module, [string] $Image)
$ErrorActionPreference = 'Stop'
$model = 'SCRFD/SCRFD_500M_KPS_CV'
$detect = "Invoke-FaceDetect -LiteralPath '$Image' -Model $model -Offline -Verbose 4>&1 | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] -and `$_.Message -like 'ONNX Runtime session*' } | ForEach-Object Message"
function Open-Sessions {
    $assembly = [AppDomain]::CurrentDomain.GetAssemblies().Where({ $_.GetName().Name -eq 'ModelCache.PowerShell' })[0]
    $assembly.GetType('ModelCache.PowerShell.Hosting.FaceDetection', $true).GetProperty('OpenSessions', [System.Reflection.BindingFlags]'Public, NonPublic, Static').GetValue($null)
}
$second = [powershell]::Create()
$second.Runspace = [runspacefactory]::CreateRunspace()
$second.Runspace.Open()
function Invoke-Second([string] $Script) {
    $second.Commands.Clear()
    $output = $second.AddScript($Script).Invoke()
    if ($second.HadErrors) { throw "second runspace: $($second.Streams.Error[0])" }
    $output
}

Import-Module $Module
$null = Save-Model -Name $model
'A1 ' + (Invoke-Expression $detect)
'A2 ' + (Invoke-Expression $detect)
'B1 ' + (Invoke-Second "Import-Module '$Module'; $detect")
Remove-Module ModelCache
'OPEN after the first runspace removed the module: ' + (Open-Sessions)
'B2 ' + (Invoke-Second $detect)
Invoke-Second 'Remove-Module ModelCache'
'OPEN after the last runspace removed the module: ' + (Open-Sessions)
Import-Module $Module
'A3 ' + (Invoke-Expression $detect)
'@
    $null = Enter-ModelCacheSandbox 'sessions'
    $run = Invoke-ChildPwsh $child -Arguments '-Module', $ModuleUnderTest, '-Image', (Join-Path $FixtureImages 'portrait.jpg')
    $lines = @($run.Output)
    $exitCode = $run.ExitCode
    $transcript = $lines -join [Environment]::NewLine
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Invoke-FaceDetect sessions' {
    It 'the scenario runs to the end' {
        $exitCode | Should -Be 0 -Because $transcript
    }

    It 'creates a session on first use and reuses it for the next call' {
        $lines | Should -Contain 'A1 ONNX Runtime session created; 1 open in this process.' -Because $transcript
        $lines | Should -Contain 'A2 ONNX Runtime session reused; 1 open in this process.'
    }

    It 'shares it with another runspace, and keeps it while that runspace still has the module' {
        $lines | Should -Contain 'B1 ONNX Runtime session reused; 1 open in this process.' -Because $transcript
        $lines | Should -Contain 'OPEN after the first runspace removed the module: 1'
        $lines | Should -Contain 'B2 ONNX Runtime session reused; 1 open in this process.'
    }

    It 'frees it when the last runspace removes the module, and a new import starts a new one' {
        $lines | Should -Contain 'OPEN after the last runspace removed the module: 0' -Because $transcript
        $lines | Should -Contain 'A3 ONNX Runtime session created; 1 open in this process.'
    }
}
