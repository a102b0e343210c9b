# The parameter contract users and scripts rely on, read from Get-Command metadata: every cmdlet's parameters, their
# types, parameter sets, mandatory flags, positions and pipeline binding, kept below as literal data so that any change
# to a cmdlet's surface fails here and is made on purpose; plus the vocabulary's rules checked for every cmdlet
# (about_ModelCache, PARAMETER VOCABULARY): -CachePath is the root and a string, -Path never is, -Layout has the same
# values everywhere, -Scope is one type.
#
# To change the contract: change the cmdlet, then the row(s) here, and the help and about topic with them.

BeforeDiscovery {
    # Cmdlet Parameter ParameterSet Type Position(- = named) Binding(Mandatory,ByValue,ByPropertyName; - = none).
    # Common and ShouldProcess parameters are left out.
    $script:ContractRows = @(
        'Clear-ModelCache All All SwitchParameter - Mandatory'
        'Clear-ModelCache CachePath All String - -'
        'Clear-ModelCache CachePath Detached String - -'
        'Clear-ModelCache CachePath Name String - -'
        'Clear-ModelCache CatalogPath All String[] - -'
        'Clear-ModelCache CatalogPath Name String[] - -'
        'Clear-ModelCache Detached Detached SwitchParameter - Mandatory'
        'Clear-ModelCache Family Name String[] - -'
        'Clear-ModelCache Force __AllParameterSets SwitchParameter - -'
        'Clear-ModelCache InputObject InputObject CachedFile[] - Mandatory,ByValue'
        'Clear-ModelCache Layout All String - -'
        'Clear-ModelCache Layout Detached String - -'
        'Clear-ModelCache Layout Name String - -'
        'Clear-ModelCache Name Detached String[] 0 ByValue,ByPropertyName'
        'Clear-ModelCache Name Name String[] 0 ByValue,ByPropertyName'
        'Clear-ModelCache NotUsedSince Name DateTime - -'
        'Clear-ModelCache OlderThan Name TimeSpan - -'
        'Clear-ModelCache Orphaned Name SwitchParameter - -'
        'Clear-ModelCache Partial Name SwitchParameter - -'
        'Clear-ModelCache PassThru __AllParameterSets SwitchParameter - -'
        'Clear-ModelCache Revision Name String[] - -'
        'Clear-ModelCache Task Name String[] - -'
        'Export-ModelCache AsMirror Path SwitchParameter - -'
        'Export-ModelCache CachePath __AllParameterSets String - -'
        'Export-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Export-ModelCache Credential Registry PSCredential - -'
        'Export-ModelCache InputObject __AllParameterSets CachedFile[] - ByValue'
        'Export-ModelCache Layout __AllParameterSets String - -'
        'Export-ModelCache Name __AllParameterSets String[] 0 ByValue,ByPropertyName'
        'Export-ModelCache Path Path String - Mandatory'
        'Export-ModelCache Registry Registry String - Mandatory'
        'Export-ModelCache TimeoutSec Registry Int32 - -'
        'Get-ModelCache CachePath __AllParameterSets String - -'
        'Get-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Get-ModelCache FileCountThreshold Summary Int32 - -'
        'Get-ModelCache Layout __AllParameterSets String - -'
        'Get-ModelCache Name List String[] 0 ByValue,ByPropertyName'
        'Get-ModelCache Name Repository String[] 0 ByValue,ByPropertyName'
        'Get-ModelCache Name Verify String[] 0 ByValue,ByPropertyName'
        'Get-ModelCache Repository Repository SwitchParameter - Mandatory'
        'Get-ModelCache SizeThreshold Summary Int64 - -'
        'Get-ModelCache Summary Summary SwitchParameter - Mandatory'
        'Get-ModelCache ThrottleLimit Verify Int32 - -'
        'Get-ModelCache Verify Verify SwitchParameter - Mandatory'
        'Get-ModelCacheLocation CachePath Model String 0 -'
        'Get-ModelCacheLocation CachePath Root String 0 -'
        'Get-ModelCacheLocation CatalogPath Model String[] - -'
        'Get-ModelCacheLocation Layout Model String - -'
        'Get-ModelCacheLocation Layout Root String - -'
        'Get-ModelCacheLocation ListModels ListModels SwitchParameter - Mandatory'
        'Get-ModelCacheLocation Name Model String[] - Mandatory,ByValue,ByPropertyName'
        'Get-ModelCatalog CachePath Model String - -'
        'Get-ModelCatalog CatalogPath __AllParameterSets String[] - -'
        'Get-ModelCatalog Family Model String[] - -'
        'Get-ModelCatalog Layout Model String - -'
        'Get-ModelCatalog Name Model String[] 0 ByValue,ByPropertyName'
        'Get-ModelCatalog Source Source SwitchParameter - Mandatory'
        'Get-ModelCatalog Task Model String[] - -'
        'Import-Model CachePath __AllParameterSets String - -'
        'Import-Model CatalogPath __AllParameterSets String[] - -'
        'Import-Model Layout __AllParameterSets String - -'
        'Import-Model License __AllParameterSets String - -'
        'Import-Model LiteralPath LiteralPath String - Mandatory,ByPropertyName'
        'Import-Model Name __AllParameterSets String 1 Mandatory'
        'Import-Model Path Path String 0 Mandatory'
        'Import-Model Task __AllParameterSets String - -'
        'Import-Model Url __AllParameterSets Uri - -'
        'Import-ModelCache CachePath __AllParameterSets String - -'
        'Import-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Import-ModelCache Credential Registry PSCredential - -'
        'Import-ModelCache Layout __AllParameterSets String - -'
        'Import-ModelCache LiteralPath LiteralPath String[] - Mandatory,ByPropertyName'
        'Import-ModelCache Path Path String[] 0 Mandatory,ByValue'
        'Import-ModelCache Registry Registry String - Mandatory'
        'Import-ModelCache TimeoutSec Registry Int32 - -'
        'Invoke-FaceDetect AnnotatedPath __AllParameterSets String - -'
        'Invoke-FaceDetect AsFace __AllParameterSets SwitchParameter - -'
        'Invoke-FaceDetect CachePath __AllParameterSets String - -'
        'Invoke-FaceDetect CatalogPath __AllParameterSets String[] - -'
        'Invoke-FaceDetect ConfidenceThreshold __AllParameterSets Single - -'
        'Invoke-FaceDetect CropMargin __AllParameterSets Single - -'
        'Invoke-FaceDetect CropPath __AllParameterSets String - -'
        'Invoke-FaceDetect Force __AllParameterSets SwitchParameter - -'
        'Invoke-FaceDetect InputSize __AllParameterSets Int32 - -'
        'Invoke-FaceDetect IntraOpThreads __AllParameterSets Int32 - -'
        'Invoke-FaceDetect Layout __AllParameterSets String - -'
        'Invoke-FaceDetect LiteralPath LiteralPath String[] - Mandatory,ByPropertyName'
        'Invoke-FaceDetect MaxFaces __AllParameterSets Int32 - -'
        'Invoke-FaceDetect MaxPixels __AllParameterSets Int64 - -'
        'Invoke-FaceDetect Mirror __AllParameterSets String[] - -'
        'Invoke-FaceDetect Model __AllParameterSets String - -'
        'Invoke-FaceDetect NmsThreshold __AllParameterSets Single - -'
        'Invoke-FaceDetect Offline __AllParameterSets SwitchParameter - -'
        'Invoke-FaceDetect Path Path String[] 0 Mandatory,ByValue,ByPropertyName'
        'Invoke-FaceDetect Recurse __AllParameterSets SwitchParameter - -'
        'Invoke-FaceDetect ThrottleLimit __AllParameterSets Int32 - -'
        'Invoke-FaceDetect Tile __AllParameterSets SwitchParameter - -'
        'Invoke-FaceDetect Unordered __AllParameterSets SwitchParameter - -'
        'Move-ModelCache CachePath Name String - -'
        'Move-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Move-ModelCache Destination __AllParameterSets String 0 Mandatory'
        'Move-ModelCache InputObject InputObject CachedFile[] - Mandatory,ByValue'
        'Move-ModelCache Layout Name String - -'
        'Move-ModelCache Name Name String[] - -'
        'Move-ModelCache NoSessionUpdate Name SwitchParameter - -'
        'Optimize-ModelCache CachePath __AllParameterSets String - -'
        'Optimize-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Optimize-ModelCache InputObject __AllParameterSets CachedFile[] - ByValue'
        'Optimize-ModelCache Layout __AllParameterSets String - -'
        'Optimize-ModelCache Name __AllParameterSets String[] 0 ByPropertyName'
        'Optimize-ModelCache Precompile __AllParameterSets SwitchParameter - -'
        'Optimize-ModelCache Quarantine __AllParameterSets SwitchParameter - -'
        'Optimize-ModelCache RemoveOrphans __AllParameterSets SwitchParameter - -'
        'Register-ModelCatalog LiteralPath LiteralPath String[] - Mandatory,ByPropertyName'
        'Register-ModelCatalog PassThru __AllParameterSets SwitchParameter - -'
        'Register-ModelCatalog Path Path String[] 0 Mandatory,ByValue'
        'Register-ModelCatalog Scope __AllParameterSets ModelCacheScope - -'
        'Save-Model CachePath __AllParameterSets String - -'
        'Save-Model CatalogPath Name String[] - -'
        'Save-Model ConnectionsPerHost __AllParameterSets Int32 - -'
        'Save-Model Credential Name PSCredential - -'
        'Save-Model File HuggingFace String[] 0 Mandatory'
        'Save-Model Force __AllParameterSets SwitchParameter - -'
        'Save-Model HuggingFaceRepo HuggingFace String - Mandatory'
        'Save-Model Layout Name String - -'
        'Save-Model MaxDownloadSize __AllParameterSets Int64 - -'
        'Save-Model MaxSize Name Int64 - -'
        'Save-Model Mirror Name String[] - -'
        'Save-Model MirrorOnly Name SwitchParameter - -'
        'Save-Model Name Name String[] 0 Mandatory,ByValue,ByPropertyName'
        'Save-Model Offline __AllParameterSets SwitchParameter - -'
        'Save-Model Proxy __AllParameterSets Uri - -'
        'Save-Model ProxyCredential __AllParameterSets PSCredential - -'
        'Save-Model RetryCount __AllParameterSets Int32 - -'
        'Save-Model Revision HuggingFace String - -'
        'Save-Model ThrottleLimit __AllParameterSets Int32 - -'
        'Save-Model TimeoutSec __AllParameterSets Int32 - -'
        'Set-ModelCacheEntry CachePath Name String - -'
        'Set-ModelCacheEntry CatalogPath __AllParameterSets String[] - -'
        'Set-ModelCacheEntry InputObject InputObject CachedFile[] - ByValue'
        'Set-ModelCacheEntry InputObject Name CachedFile[] - ByValue'
        'Set-ModelCacheEntry Layout Name String - -'
        'Set-ModelCacheEntry Name Name String[] 0 Mandatory,ByValue,ByPropertyName'
        'Set-ModelCacheEntry PassThru __AllParameterSets SwitchParameter - -'
        'Set-ModelCacheEntry Pinned __AllParameterSets Boolean - -'
        'Set-ModelCacheLocation CatalogPath __AllParameterSets String[] - -'
        'Set-ModelCacheLocation Name __AllParameterSets String - -'
        'Set-ModelCacheLocation PassThru __AllParameterSets SwitchParameter - -'
        'Set-ModelCacheLocation Path Set String 0 Mandatory'
        'Set-ModelCacheLocation Reset Reset SwitchParameter - Mandatory'
        'Set-ModelCacheLocation Scope __AllParameterSets ModelCacheScope - -'
        'Set-ModelCacheQuota MaxSize Set Int64 0 Mandatory'
        'Set-ModelCacheQuota PassThru __AllParameterSets SwitchParameter - -'
        'Set-ModelCacheQuota Reset Reset SwitchParameter - Mandatory'
        'Set-ModelCacheQuota Scope __AllParameterSets ModelCacheScope - -'
        'Start-ModelCacheServer AdminToken __AllParameterSets SecureString - -'
        'Start-ModelCacheServer BehindProxy __AllParameterSets SwitchParameter - -'
        'Start-ModelCacheServer CachePath __AllParameterSets String 0 -'
        'Start-ModelCacheServer CatalogPath __AllParameterSets String[] - -'
        'Start-ModelCacheServer ConnectionsPerHost __AllParameterSets Int32 - -'
        'Start-ModelCacheServer ExportPath __AllParameterSets String - -'
        'Start-ModelCacheServer Layout __AllParameterSets String - -'
        'Start-ModelCacheServer ListenAddress __AllParameterSets String - -'
        'Start-ModelCacheServer MaxConnections __AllParameterSets Int32 - -'
        'Start-ModelCacheServer MaxConnectionsPerAddress __AllParameterSets Int32 - -'
        'Start-ModelCacheServer Mirror __AllParameterSets String[] - -'
        'Start-ModelCacheServer Port __AllParameterSets Int32 - -'
        'Start-ModelCacheServer ReadOnly __AllParameterSets SwitchParameter - -'
        'Sync-ModelCache CachePath __AllParameterSets String - -'
        'Sync-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Sync-ModelCache ConnectionsPerHost __AllParameterSets Int32 - -'
        'Sync-ModelCache Credential __AllParameterSets PSCredential - -'
        'Sync-ModelCache Layout __AllParameterSets String - -'
        'Sync-ModelCache Manifest __AllParameterSets String 0 Mandatory'
        'Sync-ModelCache Mirror __AllParameterSets String[] - -'
        'Sync-ModelCache MirrorOnly __AllParameterSets SwitchParameter - -'
        'Sync-ModelCache Offline __AllParameterSets SwitchParameter - -'
        'Sync-ModelCache Prune __AllParameterSets SwitchParameter - -'
        'Sync-ModelCache ThrottleLimit __AllParameterSets Int32 - -'
        'Test-ModelCache CachePath __AllParameterSets String - -'
        'Test-ModelCache CatalogPath __AllParameterSets String[] - -'
        'Test-ModelCache Detailed __AllParameterSets SwitchParameter - -'
        'Test-ModelCache IgnoreExtra __AllParameterSets SwitchParameter - -'
        'Test-ModelCache Layout __AllParameterSets String - -'
        'Test-ModelCache Manifest __AllParameterSets String 0 Mandatory'
        'Test-ModelHash CachePath Name String - -'
        'Test-ModelHash CatalogPath __AllParameterSets String[] - -'
        'Test-ModelHash InputObject InputObject CachedFile[] - Mandatory,ByValue'
        'Test-ModelHash Layout Name String - -'
        'Test-ModelHash LiteralPath LiteralPath String[] - Mandatory,ByPropertyName'
        'Test-ModelHash Name Name String[] 0 ByValue'
        'Test-ModelHash Path Path String[] - Mandatory'
        'Test-ModelHash Quiet __AllParameterSets SwitchParameter - -'
        'Test-ModelHash Sha256 LiteralPath String - -'
        'Test-ModelHash Sha256 Path String - -'
        'Unregister-ModelCatalog PassThru __AllParameterSets SwitchParameter - -'
        'Unregister-ModelCatalog Path __AllParameterSets String[] 0 Mandatory,ByValue,ByPropertyName'
        'Unregister-ModelCatalog Scope __AllParameterSets ModelCacheScope - ByPropertyName'
    )

    $script:CmdletContracts = @($ContractRows | Group-Object { ($_ -split ' ')[0] } | Sort-Object Name |
        ForEach-Object { @{ Cmdlet = $_.Name; Rows = @($_.Group) } })
    $script:AllCmdlets = @{ Names = @($CmdletContracts | ForEach-Object { $_.Cmdlet }) }

    $script:SetContract = @(
        @{ Cmdlet = 'Clear-ModelCache'; Sets = 'All,Detached,InputObject,Name'; Default = 'Name' }
        @{ Cmdlet = 'Export-ModelCache'; Sets = 'Path,Registry'; Default = 'Path' }
        @{ Cmdlet = 'Get-ModelCache'; Sets = 'List,Repository,Summary,Verify'; Default = 'List' }
        @{ Cmdlet = 'Get-ModelCacheLocation'; Sets = 'ListModels,Model,Root'; Default = 'Root' }
        @{ Cmdlet = 'Get-ModelCatalog'; Sets = 'Model,Source'; Default = 'Model' }
        @{ Cmdlet = 'Import-Model'; Sets = 'LiteralPath,Path'; Default = 'Path' }
        @{ Cmdlet = 'Import-ModelCache'; Sets = 'LiteralPath,Path,Registry'; Default = 'Path' }
        @{ Cmdlet = 'Invoke-FaceDetect'; Sets = 'LiteralPath,Path'; Default = 'Path' }
        @{ Cmdlet = 'Move-ModelCache'; Sets = 'InputObject,Name'; Default = 'Name' }
        @{ Cmdlet = 'Optimize-ModelCache'; Sets = '__AllParameterSets'; Default = '' }
        @{ Cmdlet = 'Register-ModelCatalog'; Sets = 'LiteralPath,Path'; Default = 'Path' }
        @{ Cmdlet = 'Save-Model'; Sets = 'HuggingFace,Name'; Default = 'Name' }
        @{ Cmdlet = 'Set-ModelCacheEntry'; Sets = 'InputObject,Name'; Default = 'Name' }
        @{ Cmdlet = 'Set-ModelCacheLocation'; Sets = 'Reset,Set'; Default = 'Set' }
        @{ Cmdlet = 'Set-ModelCacheQuota'; Sets = 'Reset,Set'; Default = 'Set' }
        @{ Cmdlet = 'Start-ModelCacheServer'; Sets = '__AllParameterSets'; Default = '' }
        @{ Cmdlet = 'Sync-ModelCache'; Sets = '__AllParameterSets'; Default = '' }
        @{ Cmdlet = 'Test-ModelCache'; Sets = '__AllParameterSets'; Default = '' }
        @{ Cmdlet = 'Test-ModelHash'; Sets = 'InputObject,LiteralPath,Name,Path'; Default = 'Name' }
        @{ Cmdlet = 'Unregister-ModelCatalog'; Sets = '__AllParameterSets'; Default = '' }
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

    $script:CommonNames = [System.Management.Automation.Internal.CommonParameters].GetProperties().Name +
        [System.Management.Automation.Internal.ShouldProcessParameters].GetProperties().Name

    # The table above, computed from the module as loaded: one line per (cmdlet, parameter, parameter set).
    function Get-ParameterTable {
        param([string] $Cmdlet)
        $command = Get-Command $Cmdlet
        foreach ($parameter in ($command.Parameters.Values | Where-Object { $_.Name -notin $CommonNames } | Sort-Object Name)) {
            foreach ($set in ($parameter.ParameterSets.Keys | Sort-Object)) {
                $inSet = $parameter.ParameterSets[$set]
                $position = if ($inSet.Position -eq [int]::MinValue) { '-' } else { "$($inSet.Position)" }
                $flags = @(if ($inSet.IsMandatory) { 'Mandatory' }; if ($inSet.ValueFromPipeline) { 'ByValue' }; if ($inSet.ValueFromPipelineByPropertyName) { 'ByPropertyName' }) -join ','
                if (-not $flags) { $flags = '-' }
                ($command.Name, $parameter.Name, $set, $parameter.ParameterType.Name, $position, $flags) -join ' '
            }
        }
    }

    # A cmdlet's parameter defaults, read from a fresh instance (type literals do not resolve across load contexts).
    function Get-ParameterDefault {
        param([string] $Cmdlet, [string] $Parameter)
        [Activator]::CreateInstance((Get-Command $Cmdlet).ImplementingType).$Parameter
    }
}

Describe 'Parameter contract' {
    It '<Cmdlet> has exactly the parameters, sets and pipeline bindings of the contract' -ForEach $CmdletContracts {
        @(Get-ParameterTable $Cmdlet) | Should -Be $Rows
    }

    It '<Cmdlet> has parameter sets <Sets> (default <Default>)' -ForEach $SetContract {
        $command = Get-Command $Cmdlet
        (@($command.ParameterSets.Name | Sort-Object) -join ',') | Should -Be $Sets
        "$($command.DefaultParameterSet)" | Should -Be $Default
    }

    It 'the contract lists every cmdlet the module exports' -ForEach $AllCmdlets {
        @(Get-Command -Module ModelCache -CommandType Cmdlet | Sort-Object Name | ForEach-Object Name) | Should -Be $Names
    }
}

Describe 'Vocabulary rules, for every cmdlet' {
    It '-Path never names a cache root: only cmdlets whose subject is files or a location have -Path' {
        $withPath = @(Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Path') } | ForEach-Object Name | Sort-Object)
        $withPath | Should -Be @('Export-ModelCache', 'Import-Model', 'Import-ModelCache', 'Invoke-FaceDetect', 'Register-ModelCatalog', 'Set-ModelCacheLocation', 'Test-ModelHash', 'Unregister-ModelCatalog')
        # Set-ModelCacheLocation -Path is the location it sets (as Set-Location's), not a root the command works in.
        foreach ($name in $withPath | Where-Object { $_ -ne 'Set-ModelCacheLocation' }) {
            (Get-Help $name -Parameter Path).description.Text -join ' ' | Should -Not -Match 'cache root' -Because "$name -Path is not a root"
        }
    }

    It 'no cmdlet keeps the old names (-DestinationPath, an alias for -CachePath)' {
        foreach ($command in Get-Command -Module ModelCache -CommandType Cmdlet) {
            $command.Parameters.ContainsKey('DestinationPath') | Should -BeFalse -Because $command.Name
            if ($command.Parameters.ContainsKey('CachePath')) {
                $command.Parameters['CachePath'].Aliases | Should -BeNullOrEmpty -Because $command.Name
            }
        }
    }

    It '-CachePath is a string, and every cmdlet with one also takes -Layout' {
        foreach ($command in Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('CachePath') }) {
            $command.Parameters['CachePath'].ParameterType | Should -Be ([string]) -Because $command.Name
            $command.Parameters.ContainsKey('Layout') | Should -BeTrue -Because "$($command.Name) reads or writes a cache"
        }
    }

    It '-Layout is Native, Uniface, HuggingFace (in that order, default Native) everywhere' {
        $withLayout = @(Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Layout') })
        $withLayout.Count | Should -Be 16
        foreach ($command in $withLayout) {
            $set = $command.Parameters['Layout'].Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues -join ',' | Should -Be 'Native,Uniface,HuggingFace' -Because $command.Name
            $command.Parameters['Layout'].ParameterType | Should -Be ([string]) -Because $command.Name
            Get-ParameterDefault $command.Name Layout | Should -Be 'Native' -Because $command.Name
        }
    }

    It '-Scope is one type, Process|CurrentUser|AllUsers with default CurrentUser, on every cmdlet that writes a setting' {
        $withScope = @(Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Scope') })
        @($withScope.Name | Sort-Object) | Should -Be @('Register-ModelCatalog', 'Set-ModelCacheLocation', 'Set-ModelCacheQuota', 'Unregister-ModelCatalog')
        @($withScope | ForEach-Object { $_.Parameters['Scope'].ParameterType.FullName } | Sort-Object -Unique) | Should -Be 'ModelCache.PowerShell.Cmdlets.ModelCacheScope'
        [enum]::GetNames($withScope[0].Parameters['Scope'].ParameterType) -join ',' | Should -Be 'Process,CurrentUser,AllUsers'
        foreach ($command in $withScope) {
            "$(Get-ParameterDefault $command.Name Scope)" | Should -Be 'CurrentUser' -Because $command.Name
        }
    }

    It '-InputObject takes cached files (CachedFile, any layout''s) from the pipeline by value, wherever a cmdlet has it; a cmdlet that serves catalog caches only refuses a hub file with LayoutNotSupported' {
        foreach ($command in Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('InputObject') }) {
            $command.Parameters['InputObject'].ParameterType.Name | Should -Be 'CachedFile[]' -Because $command.Name
            $command.Parameters['InputObject'].ParameterSets.Values.ValueFromPipeline | Should -Not -Contain $false -Because $command.Name
        }
    }

    It 'every cmdlet that acts on cached models takes -InputObject' -ForEach @(
        @{ Cmdlet = 'Clear-ModelCache' }, @{ Cmdlet = 'Export-ModelCache' }, @{ Cmdlet = 'Move-ModelCache' }, @{ Cmdlet = 'Optimize-ModelCache' },
        @{ Cmdlet = 'Set-ModelCacheEntry' }, @{ Cmdlet = 'Test-ModelHash' }) {
        (Get-Command $Cmdlet).Parameters.ContainsKey('InputObject') | Should -BeTrue
    }

    It 'a -LiteralPath binds files through the aliases PSPath and FullName' {
        foreach ($command in Get-Command -Module ModelCache -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('LiteralPath') }) {
            $command.Parameters['LiteralPath'].Aliases | Should -Contain 'PSPath' -Because $command.Name
            $command.Parameters['LiteralPath'].Aliases | Should -Contain 'FullName' -Because $command.Name
            $command.Parameters.ContainsKey('Path') | Should -BeTrue -Because "$($command.Name) pairs -LiteralPath with a wildcard -Path"
        }
    }
}

Describe 'Parameter details' {
    It 'Test-ModelHash -LiteralPath binds FileInfo objects through the aliases PSPath and FullName' {
        (Get-Command Test-ModelHash).Parameters['LiteralPath'].Aliases | Sort-Object | Should -Be @('FullName', 'PSPath')
    }

    It 'Invoke-FaceDetect -LiteralPath has the aliases PSPath, FullName and LP' {
        (Get-Command Invoke-FaceDetect).Parameters['LiteralPath'].Aliases | Sort-Object | Should -Be @('FullName', 'LP', 'PSPath')
    }

    It 'Set-ModelCacheLocation -Scope accepts exactly Process, CurrentUser and AllUsers' {
        $type = (Get-Command Set-ModelCacheLocation).Parameters['Scope'].ParameterType
        $type.IsEnum | Should -BeTrue
        [enum]::GetNames($type) | Sort-Object | Should -Be @('AllUsers', 'CurrentUser', 'Process')
    }

    It 'Save-Model validates -ThrottleLimit (1..64) before doing anything' {
        { Save-Model $Yolo -ThrottleLimit 0 -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ModelCache.PowerShell.Cmdlets.SaveModelCommand'
    }

    It 'Save-Model validates -MaxDownloadSize (at least 1 byte) and takes size suffixes' {
        { Save-Model $Yolo -MaxDownloadSize 0 -WhatIf } | Should -Throw -ErrorId 'ParameterArgumentValidationError,ModelCache.PowerShell.Cmdlets.SaveModelCommand'
        (Get-Command Save-Model).Parameters['MaxDownloadSize'].ParameterType | Should -Be ([long])
        { Save-Model $Yolo -MaxDownloadSize 8GB -CachePath (Join-Path $TestDrive 'cache') -WhatIf } | Should -Not -Throw
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
