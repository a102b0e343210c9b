@{
    RootModule             = 'module/bin/ModelCache.PowerShell.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '5b0f7a2e-8d1c-4c59-9a43-2f6e1d3b7c10'
    Author                 = 'ModelCache contributors'
    CompanyName            = 'ModelCache'
    Copyright              = '(c) ModelCache contributors. MIT licence.'
    Description            = 'Fetch, verify, keep, move and use ONNX models offline, and run face detection with them.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Desktop', 'Core')
    FormatsToProcess       = @('module/ModelCache.Format.ps1xml')
    TypesToProcess         = @('module/ModelCache.Types.ps1xml')
    CmdletsToExport        = @(
        'Clear-ModelCache'
        'Get-ModelCache'
        'Get-ModelCacheLocation'
        'Get-ModelCatalog'
        'Invoke-FaceDetect'
        'Save-Model'
        'Set-ModelCacheLocation'
        'Test-ModelHash'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags       = @('ONNX', 'Models', 'Cache', 'FaceDetection', 'Offline', 'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
