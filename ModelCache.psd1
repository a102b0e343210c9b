@{
    RootModule             = 'module/bin/ModelCache.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '5b0f7a2e-8d1c-4c59-9a43-2f6e1d3b7c10'
    Author                 = 'ModelCache contributors'
    CompanyName            = 'ModelCache'
    Copyright              = '(c) 2026 ModelCache contributors. MIT licence.'
    Description            = 'Fetch, verify, keep, move and use ONNX models offline, and run face detection with them.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Desktop', 'Core')
    FormatsToProcess       = @('module/ModelCache.Format.ps1xml')
    TypesToProcess         = @('module/ModelCache.Types.ps1xml')
    CmdletsToExport        = @(
        'Clear-ModelCache'
        'Export-ModelCache'
        'Get-ModelCache'
        'Get-ModelCacheLocation'
        'Get-ModelCatalog'
        'Import-Model'
        'Import-ModelCache'
        'Invoke-FaceDetect'
        'Move-ModelCache'
        'Optimize-ModelCache'
        'Register-ModelCatalog'
        'Save-Model'
        'Set-ModelCacheEntry'
        'Set-ModelCacheLocation'
        'Set-ModelCacheQuota'
        'Start-ModelCacheServer'
        'Sync-ModelCache'
        'Test-ModelCache'
        'Test-ModelHash'
        'Unregister-ModelCatalog'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('ONNX', 'Models', 'Cache', 'FaceDetection', 'Offline', 'AirGapped', 'SHA256', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ReleaseNotes = @'
0.1.0: first release.
- Catalog of the uniface models plus extra face detectors, each with URL and SHA-256; user catalogs merge over it.
- Verified cache: Save-Model (parallel, resumable, retried, mirrors, proxy, offline), Test-ModelHash, Get-ModelCache, Clear-ModelCache, Get-/Set-ModelCacheLocation.
- Invoke-FaceDetect: RetinaFace, SCRFD, YOLOv5/YOLOv8-Face, BlazeFace and UltraFace layouts on ONNX Runtime 1.31, natives for linux-x64, linux-arm64, win-x64, win-arm64 and osx-arm64.
- One module for Windows PowerShell 5.1 and PowerShell 7 (netstandard2.0 assemblies); on PowerShell 7 its dependencies load in their own AssemblyLoadContext, so other modules' versions of SkiaSharp, Newtonsoft.Json or Polly do not conflict.
'@
        }
    }
}
