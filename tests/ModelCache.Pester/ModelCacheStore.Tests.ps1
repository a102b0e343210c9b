# Get-ModelCache and Clear-ModelCache: listing, removing, pipelines, -WhatIf/-Confirm and errors.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Get-ModelCache' {
    BeforeAll {
        $script:Sandbox = Enter-ModelCacheSandbox 'get-cache'
        $null = Save-Model $Yolo, $Slim
    }

    It 'lists every cached model as a cache entry' {
        $entries = Get-ModelCache
        @($entries.Name | Sort-Object) | Should -Be @($Slim, $Yolo)
        $entries | ForEach-Object { $_ | Get-TypeName | Should -Be $TypeNames.CacheEntry }
        $yoloEntry = $entries | Where-Object Name -eq $Yolo
        $yoloEntry.Task | Should -Be 'face_detection'
        $yoloEntry.Size | Should -Be $YoloSize
        "$($yoloEntry.LastCheck)" | Should -Be 'Passed'
        $yoloEntry.ChangedSinceCheck | Should -BeFalse
        $yoloEntry.SavedAt | Should -BeOfType [DateTimeOffset]
        $yoloEntry.LastUsed | Should -BeOfType [DateTimeOffset]
        $yoloEntry.Path | Should -Be (Join-Path $Sandbox.Cache "models/YOLOv8Face/YOLOV8_LITE_T/$YoloFile")
        $yoloEntry.InCatalog | Should -BeTrue
    }

    It 'emits the type its [OutputType] declares' {
        Get-ModelCache | Get-TypeName | Select-Object -Unique | Should -BeIn (Get-Command Get-ModelCache).OutputType.Name
    }

    It 'filters by wildcard and by bare name' {
        (Get-ModelCache 'UltraFace/*').Name | Should -Be $Slim
        (Get-ModelCache yolov8_lite_t).Name | Should -Be $Yolo
    }

    It 'takes names by property name from catalog entries (Get-ModelCatalog | Get-ModelCache)' {
        (Get-ModelCatalog -Family YOLOv8Face | Get-ModelCache -ErrorAction SilentlyContinue).Name | Should -Be $Yolo
    }

    It 'lists each entry once when the same name is piped twice' {
        @($Yolo, $Yolo | Get-ModelCache).Count | Should -Be 1
    }

    It 'lists nothing for an empty root given with -Path' {
        $empty = New-Item -ItemType Directory -Path (Join-Path $Sandbox.Root 'empty')
        Get-ModelCache -CachePath $empty.FullName -ErrorVariable failed | Should -BeNullOrEmpty
        $failed | Should -BeNullOrEmpty
    }

    It 'says a root given with -Path does not exist, once, instead of listing it as empty' -ForEach @(
        @{ Arguments = @{} }
        @{ Arguments = @{ Name = 'YOLOV8*' } }
        @{ Arguments = @{ Summary = $true } }
        @{ Arguments = @{ Layout = 'Uniface' } }
        @{ Arguments = @{ Layout = 'HuggingFace' } }
    ) {
        $missing = Join-Path $Sandbox.Root 'no/such/root'

        $out = Get-ModelCache -CachePath $missing @Arguments -ErrorVariable failed -ErrorAction SilentlyContinue

        $out | Should -BeNullOrEmpty
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Be 'CacheRootNotFound,ModelCache.PowerShell.Cmdlets.GetModelCacheCommand'
        "$($failed[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
        $failed[0].Exception.Message | Should -Match ([regex]::Escape($missing))
        $failed[0].TargetObject | Should -Be $missing
        $failed[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath $missing | Should -BeFalse
    }

    It 'says it once when several names are piped' {
        $missing = Join-Path $Sandbox.Root 'gone'
        $null = $Yolo, $Slim | Get-ModelCache -CachePath $missing -ErrorVariable failed -ErrorAction SilentlyContinue
        @($failed).Count | Should -Be 1
    }
}

Describe 'Clear-ModelCache' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'clear'
        $script:Saved = Save-Model $Yolo, $Slim
    }

    It 'Get-ModelCache | Clear-ModelCache -WhatIf removes nothing' {
        $out = Get-ModelCache | Clear-ModelCache -WhatIf
        $out | Should -BeNullOrEmpty
        @(Get-ModelCache).Count | Should -Be 2
        $Saved.Path | ForEach-Object { Test-Path -LiteralPath $_ | Should -BeTrue }
    }

    It 'Get-ModelCache | Clear-ModelCache -Confirm:$false -PassThru removes the piped entries and returns them' {
        $removed = Get-ModelCache $Yolo | Clear-ModelCache -Confirm:$false -PassThru
        $removed.Name | Should -Be $Yolo
        $removed | Get-TypeName | Should -BeIn (Get-Command Clear-ModelCache).OutputType.Name
        (Get-ModelCache).Name | Should -Be $Slim
        Test-Path -LiteralPath ($Saved | Where-Object Name -eq $Yolo).Path | Should -BeFalse
    }

    It 'without -PassThru writes nothing' {
        Clear-ModelCache $Yolo -Confirm:$false | Should -BeNullOrEmpty
        (Get-ModelCache).Name | Should -Be $Slim
    }

    It 'removes by wildcard and by bare name' {
        Clear-ModelCache 'UltraFace/*' -Confirm:$false
        (Get-ModelCache).Name | Should -Be $Yolo
        Clear-ModelCache yolov8_lite_t -Confirm:$false
        Get-ModelCache | Should -BeNullOrEmpty
    }

    It 'takes names from the pipeline by value' {
        $Yolo | Clear-ModelCache -Confirm:$false
        (Get-ModelCache).Name | Should -Be $Slim
    }

    It '-All -WhatIf removes nothing; -All -Confirm:$false removes everything' {
        Clear-ModelCache -All -WhatIf
        @(Get-ModelCache).Count | Should -Be 2
        Clear-ModelCache -All -Confirm:$false
        Get-ModelCache | Should -BeNullOrEmpty
    }

    It '-All -Force removes everything without asking again' {
        Clear-ModelCache -All -Force -Confirm:$false
        Get-ModelCache | Should -BeNullOrEmpty
    }

    It 'clearing a model that is not cached is a non-terminating ModelNotCached error (ObjectNotFound)' {
        $out = @(Clear-ModelCache MNET_V2 -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue; 'after')
        $out | Should -Be @('after')
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ModelNotCached,ModelCache.PowerShell.Cmdlets.ClearModelCacheCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be 'MNET_V2'
        @(Get-ModelCache).Count | Should -Be 2
    }

    It 'an unknown name is ModelNotFound' {
        Clear-ModelCache NOT_A_MODEL -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}
