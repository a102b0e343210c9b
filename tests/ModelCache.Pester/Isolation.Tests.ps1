# Dependency isolation on PowerShell 7: another module's SkiaSharp 2.88 (a real package, restored by
# ModelCache.Pester.csproj), loaded before or after ModelCache, breaks neither side. Each order runs in a
# fresh pwsh, because a loaded assembly stays loaded for the life of the process.

BeforeDiscovery {
    $script:orders = @(@{ Order = 'OtherFirst' }, @{ Order = 'ModelCacheFirst' })
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $otherSkia = Join-Path $packages 'skiasharp/2.88.9/lib/netstandard2.0/SkiaSharp.dll'
    $otherNative = Join-Path $packages 'skiasharp.nativeassets.linux.nodependencies/2.88.9/runtimes/linux-x64/native/libSkiaSharp.so'

    # The other module: SkiaSharp 2.88.9 with its own native library beside it, as such a module ships it.
    $otherModule = Join-Path $TestDrive 'other'
    New-Item -ItemType Directory $otherModule | Out-Null
    Copy-Item $otherSkia, $otherNative $otherModule

    $child = Join-Path $TestDrive 'isolation.ps1'
    Set-Content $child -Value @'
param([string] $Order, [string] $Module, [string] $Other, [string] $Image)
$ErrorActionPreference = 'Stop'
function Use-OtherSkia {
    Add-Type -Path (Join-Path $Other 'SkiaSharp.dll')
    $bitmap = [SkiaSharp.SKBitmap]::new(7, 5)
    $bitmap.Erase([SkiaSharp.SKColors]::Red)
    'OTHER {0} native={1} pixel={2}' -f [SkiaSharp.SKBitmap].Assembly.GetName().Version, [SkiaSharp.SkiaSharpVersion]::Native.Major, $bitmap.GetPixel(3, 2)
}
function Use-ModelCache {
    $entry = Save-Model -Name SCRFD/SCRFD_500M_KPS_CV | Test-ModelHash
    'VERIFY ' + $entry.Status
    $result = Invoke-FaceDetect -LiteralPath $Image -Model SCRFD/SCRFD_500M_KPS_CV -Offline
    'FACES ' + $result.FaceCount
}
if ($Order -eq 'OtherFirst') { Use-OtherSkia }
Import-Module $Module
Use-ModelCache
if ($Order -eq 'ModelCacheFirst') { Use-OtherSkia }
Use-ModelCache
foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
    $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($assembly)
    'ASM {0} {1} {2}' -f $assembly.GetName().Name, $assembly.GetName().Version, $context.Name
}
'@

    function Invoke-Child([string] $Order) {
        $null = Enter-ModelCacheSandbox "isolation-$Order"
        $arguments = '-Order', $Order, '-Module', $ModuleUnderTest, '-Other', $otherModule, '-Image', (Join-Path $FixtureImages 'portrait.jpg')
        Invoke-ChildPwsh $child -Arguments $arguments
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Dependency isolation on PowerShell 7' -Skip:($PSVersionTable.PSEdition -ne 'Core' -or -not $IsLinux) {
    It 'the other module''s package is restored (ModelCache.Pester.csproj downloads SkiaSharp 2.88.9)' {
        $otherSkia | Should -Exist
        $otherNative | Should -Exist
    }

    Context 'with <Order>' -ForEach $orders {
        BeforeAll {
            $run = Invoke-Child $Order
            $transcript = $run.Output -join [Environment]::NewLine
        }

        It 'runs to the end' {
            $run.ExitCode | Should -Be 0 -Because $transcript
        }

        It 'saves, verifies and detects both times' {
            @($run.Output -match '^VERIFY ') | Should -Be @('VERIFY Valid', 'VERIFY Valid') -Because $transcript
            @($run.Output -match '^FACES ') | Should -Be @('FACES 1', 'FACES 1') -Because $transcript
        }

        It 'leaves the other SkiaSharp loaded and working for its owner' {
            $other = @($run.Output -match '^OTHER ')
            $other | Should -HaveCount 1 -Because $transcript
            $other[0] | Should -Match '^OTHER 2\.88\.0\.0 native=88 pixel=#ffff0000$'
            $run.Output | Should -Contain 'ASM SkiaSharp 2.88.0.0 Default'
        }

        It 'loads ModelCache''s own dependencies into its load context' {
            foreach ($name in 'ModelCache.Core', 'ModelCache.Inference', 'ModelCache.Server', 'SkiaSharp', 'Microsoft.ML.OnnxRuntime', 'Polly.Core', 'Newtonsoft.Json', 'System.Numerics.Tensors') {
                @($run.Output | Where-Object { $_ -match "^ASM $([regex]::Escape($name)) \S+ ModelCache$" }) | Should -HaveCount 1 -Because "$name should be in the ModelCache context`n$transcript"
            }
            $run.Output | Should -Contain 'ASM SkiaSharp 4.154.0.0 ModelCache'
            $cmdlets = @($run.Output -match '^ASM ModelCache\.PowerShell ')
            $cmdlets | Should -HaveCount 1
            $cmdlets[0] | Should -Match ' Default$' -Because 'the cmdlet assembly is loaded by PowerShell itself'
        }
    }
}

Describe 'The cmdlet assembly' {
    It 'references only ModelCache''s own libraries and PowerShell, so no dependency loads outside the module''s context' {
        Import-ModelCacheUnderTest
        $assembly = (Get-Command Save-Model).ImplementingType.Assembly
        $references = $assembly.GetReferencedAssemblies().Name | Sort-Object
        $references | Should -Be @('ModelCache.Core', 'ModelCache.Inference', 'ModelCache.Server', 'netstandard', 'System.Management.Automation')
    }
}
