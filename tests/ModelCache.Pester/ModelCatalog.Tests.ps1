# Get-ModelCatalog: listing, filters, name resolution and user catalogs.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Get-ModelCatalog' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'catalog'
        $null = Save-Model $Yolo
        $script:All = Get-ModelCatalog
    }

    It 'lists the 65 built-in models as catalog entries' {
        $All.Count | Should -Be 65
        $All | Get-TypeName | Select-Object -Unique | Should -Be $TypeNames.CatalogEntry
        $All | Get-TypeName | Select-Object -Unique | Should -BeIn (Get-Command Get-ModelCatalog).OutputType.Name
        ($All | Where-Object Name -eq $Yolo).Sha256 | Should -Be $YoloSha
        ($All | Where-Object Name -eq $Yolo).FileName | Should -Be $YoloFile
    }

    It 'reports which models are cached' {
        @($All | Where-Object IsCached).Name | Should -Be @($Yolo)
    }

    It 'filters by -Task and wildcard -Family' {
        $detectors = Get-ModelCatalog -Task face_detection -Family YOLO*
        $detectors.Count | Should -Be 7
        $detectors | ForEach-Object { $_.Family | Should -BeLike 'YOLO*'; $_.Task | Should -Be 'face_detection' }
    }

    It 'resolves a bare name the way every cmdlet does (detection families win)' {
        (Get-ModelCatalog MNET_V2).Name | Should -Be 'RetinaFace/MNET_V2'
        @((Get-ModelCatalog '*/MNET_V2').Name | Sort-Object) | Should -Be @('MobileFace/MNET_V2', 'RetinaFace/MNET_V2')
    }

    It 'takes names from the pipeline by value' {
        @(('SCRFD/SCRFD_2_5G_KPS', $Slim | Get-ModelCatalog).Name) | Should -Be @('SCRFD/SCRFD_2_5G_KPS', $Slim)
    }

    It 'an unknown name is ModelNotFound (ObjectNotFound)' {
        $out = Get-ModelCatalog NOT_A_MODEL -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'a user catalog adds models that save and verify from the mirror' {
        $catalog = Join-Path $Sandbox.Root 'site.json'
        @{ models = @(@{ family = 'Site'; member = 'SMALL'; task = 'face_detection'; fileName = 'scrfd_500m_kps.onnx'
                    url = 'https://example.invalid/never-used.onnx'; sha256 = '517cb1980c72422e676738fc45431700fb7cbee56d0f825b623ee427b3e5ce58' }) } |
            ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $catalog
        (Get-ModelCatalog -CatalogPath $catalog -Family Site).Name | Should -Be 'Site/SMALL'
        "$((Save-Model Site/SMALL -CatalogPath $catalog | Test-ModelHash -CatalogPath $catalog).Status)" | Should -Be 'Valid'
    }

    It 'a malformed user catalog is CatalogInvalid (InvalidData) naming the file and line' {
        $catalog = Join-Path $Sandbox.Root 'bad.json'
        Set-Content -LiteralPath $catalog -NoNewline -Value "{`n  `"models`": [`n    { `"family`": `n"
        { Get-ModelCatalog -CatalogPath $catalog -ErrorAction Stop } | Should -Throw -ErrorId 'CatalogInvalid,ModelCache.PowerShell.Cmdlets.GetModelCatalogCommand'
        try { Get-ModelCatalog -CatalogPath $catalog -ErrorAction Stop } catch { $err = $_ }
        $err.CategoryInfo.Category | Should -Be 'InvalidData'
        $err.Exception.Message | Should -Match ([regex]::Escape($catalog))
        $err.Exception.Message | Should -Match 'line 4'
    }

    It 'a size beyond Int64 in $env:MODELCACHE_CATALOG is CatalogInvalid naming the file and line, for <Command>' -ForEach @(
        @{ Command = 'Get-ModelCache' }
        @{ Command = 'Get-ModelCatalog' }
        @{ Command = 'Test-ModelHash' }
    ) {
        $catalog = Join-Path $Sandbox.Root 'huge.json'
        Set-Content -LiteralPath $catalog -Value "{`n  `"models`": [`n    { `"family`": `"Site`", `"member`": `"HUGE`", `"fileName`": `"huge.onnx`", `"sha256`": `"$('a' * 64)`",`n      `"size`": 99999999999999999999 }`n  ]`n}"
        $env:MODELCACHE_CATALOG = $catalog
        try {
            $err = $null
            try { & $Command -ErrorAction Stop } catch { $err = $_ }
            ($err.FullyQualifiedErrorId -split ',')[0] | Should -Be 'CatalogInvalid'
            $err.Exception.Message | Should -Match ([regex]::Escape($catalog))
            $err.Exception.Message | Should -Match 'line 4, position'
        }
        finally {
            $env:MODELCACHE_CATALOG = $null
        }
    }
}
