# The module as users import it: what it exports and declares.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Module = Get-Module ModelCache
    $script:Expected = @(
        'Clear-ModelCache', 'Export-ModelCache', 'Get-ModelCache', 'Get-ModelCacheLocation', 'Get-ModelCatalog',
        'Import-Model', 'Import-ModelCache', 'Invoke-FaceDetect', 'Move-ModelCache', 'Optimize-ModelCache', 'Register-ModelCatalog',
        'Save-Model', 'Set-ModelCacheEntry', 'Set-ModelCacheLocation', 'Set-ModelCacheQuota', 'Start-ModelCacheServer', 'Sync-ModelCache', 'Test-ModelCache',
        'Test-ModelHash', 'Unregister-ModelCatalog'
    ) | Sort-Object
}

Describe 'ModelCache module' {
    It 'is imported from the module under test' {
        $Module | Should -Not -BeNullOrEmpty
        @($Module).Count | Should -Be 1
        if ($ModuleUnderTest -like '*.psd1') {
            $Module.ModuleBase | Should -Be (Split-Path -Parent (Resolve-Path $ModuleUnderTest).ProviderPath)
        }
        $Module.ModuleType | Should -Be 'Binary'
    }

    It 'exports exactly the expected cmdlets and nothing else' {
        @((Get-Command -Module ModelCache).Name | Sort-Object) | Should -Be $Expected
        @(Get-Command -Module ModelCache -CommandType Cmdlet).Count | Should -Be $Expected.Count
        $Module.ExportedFunctions.Count | Should -Be 0
        $Module.ExportedAliases.Count | Should -Be 0
        $Module.ExportedVariables.Count | Should -Be 0
    }

    It 'declares both editions and Windows PowerShell 5.1 as the minimum' {
        $Module.CompatiblePSEditions | Sort-Object | Should -Be @('Core', 'Desktop')
        $Module.PowerShellVersion | Should -Be ([version]'5.1')
    }

    It 'uses only approved verbs' {
        $approved = (Get-Verb).Verb
        foreach ($command in Get-Command -Module ModelCache) {
            $approved | Should -Contain $command.Verb -Because "$($command.Name) should use an approved verb"
        }
    }

    It 'declares an output type on every cmdlet' {
        foreach ($command in Get-Command -Module ModelCache) {
            $command.OutputType.Count | Should -BeGreaterThan 0 -Because "$($command.Name) needs [OutputType]"
        }
    }

    It 'imports with no errors or warnings into a fresh session' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddCommand('Import-Module').AddParameter('Name', $ModuleUnderTest).AddParameter('PassThru').AddParameter('WarningVariable', 'w')
            $imported = $ps.Invoke()
            $ps.Streams.Error.Count | Should -Be 0
            $ps.Streams.Warning.Count | Should -Be 0
            $imported[0].Name | Should -Be 'ModelCache'
        }
        finally {
            $ps.Dispose()
        }
    }
}
