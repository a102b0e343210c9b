# The parameter contract users and scripts rely on, read from Get-Command metadata: parameter sets,
# the default set, mandatory flags, positions, pipeline binding and aliases.

BeforeDiscovery {
    # One row per (cmdlet, parameter, parameter set). Position $null means named.
    $script:Bindings = @(
        @{ Cmdlet = 'Save-Model'; Parameter = 'Name'; Set = 'Name'; Mandatory = $true; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Save-Model'; Parameter = 'Mirror'; Set = 'Name'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'HuggingFaceRepo'; Set = 'HuggingFace'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'File'; Set = 'HuggingFace'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = 0 }
        @{ Cmdlet = 'Save-Model'; Parameter = 'Revision'; Set = 'HuggingFace'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'Credential'; Set = 'Name'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'ProxyCredential'; Set = '__AllParameterSets'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'Path'; Set = '__AllParameterSets'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Save-Model'; Parameter = 'MaxDownloadSize'; Set = '__AllParameterSets'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'InputObject'; Set = 'InputObject'; Mandatory = $true; ByValue = $true; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'InputObject'; Set = 'InputObject'; Mandatory = $true; ByValue = $true; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'Revision'; Set = 'Name'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }

        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'Name'; Set = 'Name'; Mandatory = $false; ByValue = $true; ByPropertyName = $false; Position = 0 }
        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'InputObject'; Set = 'InputObject'; Mandatory = $true; ByValue = $true; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'LiteralPath'; Set = 'LiteralPath'; Mandatory = $true; ByValue = $false; ByPropertyName = $true; Position = $null }
        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'Sha256'; Set = 'LiteralPath'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Test-ModelHash'; Parameter = 'Path'; Set = 'Name'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }

        @{ Cmdlet = 'Get-ModelCache'; Parameter = 'Name'; Set = 'List'; Mandatory = $false; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Get-ModelCache'; Parameter = 'Name'; Set = 'Verify'; Mandatory = $false; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Get-ModelCache'; Parameter = 'Summary'; Set = 'Summary'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Get-ModelCache'; Parameter = 'Verify'; Set = 'Verify'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Get-ModelCatalog'; Parameter = 'Name'; Set = 'Model'; Mandatory = $false; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Get-ModelCatalog'; Parameter = 'Family'; Set = 'Model'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Get-ModelCatalog'; Parameter = 'Source'; Set = 'Source'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Import-Model'; Parameter = 'LiteralPath'; Set = '__AllParameterSets'; Mandatory = $true; ByValue = $false; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Import-Model'; Parameter = 'Name'; Set = '__AllParameterSets'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = 1 }
        @{ Cmdlet = 'Register-ModelCatalog'; Parameter = 'Path'; Set = 'Path'; Mandatory = $true; ByValue = $true; ByPropertyName = $false; Position = 0 }
        @{ Cmdlet = 'Register-ModelCatalog'; Parameter = 'LiteralPath'; Set = 'LiteralPath'; Mandatory = $true; ByValue = $false; ByPropertyName = $true; Position = $null }
        @{ Cmdlet = 'Unregister-ModelCatalog'; Parameter = 'Path'; Set = '__AllParameterSets'; Mandatory = $true; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Unregister-ModelCatalog'; Parameter = 'Scope'; Set = '__AllParameterSets'; Mandatory = $false; ByValue = $false; ByPropertyName = $true; Position = $null }

        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'Name'; Set = 'Name'; Mandatory = $false; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'InputObject'; Set = 'InputObject'; Mandatory = $true; ByValue = $true; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'All'; Set = 'All'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'Path'; Set = 'Name'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Clear-ModelCache'; Parameter = 'Path'; Set = 'All'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = $null }

        @{ Cmdlet = 'Invoke-FaceDetect'; Parameter = 'Path'; Set = 'Path'; Mandatory = $true; ByValue = $true; ByPropertyName = $true; Position = 0 }
        @{ Cmdlet = 'Invoke-FaceDetect'; Parameter = 'LiteralPath'; Set = 'LiteralPath'; Mandatory = $true; ByValue = $false; ByPropertyName = $true; Position = $null }

        @{ Cmdlet = 'Get-ModelCacheLocation'; Parameter = 'Path'; Set = 'Root'; Mandatory = $false; ByValue = $false; ByPropertyName = $false; Position = 0 }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Parameter = 'Name'; Set = 'Model'; Mandatory = $true; ByValue = $true; ByPropertyName = $true; Position = $null }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Parameter = 'ListModels'; Set = 'ListModels'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
        @{ Cmdlet = 'Set-ModelCacheLocation'; Parameter = 'Path'; Set = 'Set'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = 0 }
        @{ Cmdlet = 'Set-ModelCacheLocation'; Parameter = 'Reset'; Set = 'Reset'; Mandatory = $true; ByValue = $false; ByPropertyName = $false; Position = $null }
    )

    $script:Sets = @(
        @{ Cmdlet = 'Save-Model'; Sets = @('HuggingFace', 'Name'); Default = 'Name' }
        @{ Cmdlet = 'Test-ModelHash'; Sets = @('InputObject', 'LiteralPath', 'Name'); Default = 'Name' }
        @{ Cmdlet = 'Get-ModelCache'; Sets = @('List', 'Summary', 'Verify'); Default = 'List' }
        @{ Cmdlet = 'Get-ModelCatalog'; Sets = @('Model', 'Source'); Default = 'Model' }
        @{ Cmdlet = 'Register-ModelCatalog'; Sets = @('LiteralPath', 'Path'); Default = 'Path' }
        @{ Cmdlet = 'Clear-ModelCache'; Sets = @('All', 'InputObject', 'Name'); Default = 'Name' }
        @{ Cmdlet = 'Invoke-FaceDetect'; Sets = @('LiteralPath', 'Path'); Default = 'Path' }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Sets = @('ListModels', 'Model', 'Root'); Default = 'Root' }
        @{ Cmdlet = 'Set-ModelCacheLocation'; Sets = @('Reset', 'Set'); Default = 'Set' }
    )

    $script:ShouldProcess = @(
        @{ Cmdlet = 'Save-Model'; Supports = $true }
        @{ Cmdlet = 'Clear-ModelCache'; Supports = $true }
        @{ Cmdlet = 'Set-ModelCacheLocation'; Supports = $true }
        @{ Cmdlet = 'Invoke-FaceDetect'; Supports = $true }
        @{ Cmdlet = 'Test-ModelHash'; Supports = $false }
        @{ Cmdlet = 'Get-ModelCache'; Supports = $false }
        @{ Cmdlet = 'Get-ModelCatalog'; Supports = $false }
        @{ Cmdlet = 'Import-Model'; Supports = $true }
        @{ Cmdlet = 'Register-ModelCatalog'; Supports = $true }
        @{ Cmdlet = 'Unregister-ModelCatalog'; Supports = $true }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Supports = $false }
    )
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

Describe 'Parameter sets' {
    It '<Cmdlet> has parameter sets <Sets> (default <Default>)' -ForEach $Sets {
        $command = Get-Command $Cmdlet
        @($command.ParameterSets.Name | Sort-Object) | Should -Be $Sets
        $command.DefaultParameterSet | Should -Be $Default
    }
}

Describe 'Parameter binding' {
    It '<Cmdlet> -<Parameter> in set <Set>: mandatory <Mandatory>, by value <ByValue>, by property name <ByPropertyName>, position <Position>' -ForEach $Bindings {
        $parameter = (Get-Command $Cmdlet).Parameters[$Parameter]
        $parameter | Should -Not -BeNullOrEmpty -Because "$Cmdlet has -$Parameter"
        $parameter.ParameterSets.Keys | Should -Contain $Set
        $inSet = $parameter.ParameterSets[$Set]
        $inSet.IsMandatory | Should -Be $Mandatory
        $inSet.ValueFromPipeline | Should -Be $ByValue
        $inSet.ValueFromPipelineByPropertyName | Should -Be $ByPropertyName
        $expectedPosition = if ($null -eq $Position) { [int]::MinValue } else { $Position }
        $inSet.Position | Should -Be $expectedPosition
    }

    It 'Test-ModelHash -LiteralPath binds FileInfo objects through the aliases PSPath and FullName' {
        (Get-Command Test-ModelHash).Parameters['LiteralPath'].Aliases | Sort-Object | Should -Be @('FullName', 'PSPath')
    }

    It 'Invoke-FaceDetect -LiteralPath has the aliases PSPath, FullName and LP' {
        (Get-Command Invoke-FaceDetect).Parameters['LiteralPath'].Aliases | Sort-Object | Should -Be @('FullName', 'LP', 'PSPath')
    }

    It 'Set-ModelCacheLocation -Scope accepts exactly Process, User and AllUsers' {
        $type = (Get-Command Set-ModelCacheLocation).Parameters['Scope'].ParameterType
        $type.IsEnum | Should -BeTrue
        [enum]::GetNames($type) | Sort-Object | Should -Be @('AllUsers', 'Process', 'User')
    }

    It 'Save-Model validates -ThrottleLimit (1..64) before doing anything' {
        { Save-Model $Yolo -ThrottleLimit 0 -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ModelCache.PowerShell.Cmdlets.SaveModelCommand'
    }

    It 'Save-Model validates -MaxDownloadSize (at least 1 byte) and takes size suffixes' {
        { Save-Model $Yolo -MaxDownloadSize 0 -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ModelCache.PowerShell.Cmdlets.SaveModelCommand'
        (Get-Command Save-Model).Parameters['MaxDownloadSize'].ParameterType | Should -Be ([long])
        { Save-Model $Yolo -MaxDownloadSize 8GB -WhatIf } | Should -Not -Throw
    }

    It 'Test-ModelHash -Sha256 rejects a value that is not 64 hex digits' {
        { Test-ModelHash -LiteralPath $PSCommandPath -Sha256 'abc' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ModelCache.PowerShell.Cmdlets.TestModelHashCommand'
    }
}

Describe 'ShouldProcess support' {
    It '<Cmdlet> supports -WhatIf/-Confirm: <Supports>' -ForEach $ShouldProcess {
        $parameters = (Get-Command $Cmdlet).Parameters
        $parameters.ContainsKey('WhatIf') | Should -Be $Supports
        $parameters.ContainsKey('Confirm') | Should -Be $Supports
    }
}
