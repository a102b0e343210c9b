# Save-Model: saving from the fixture mirror, pipeline input, errors and ShouldProcess.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Save-Model' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'save'
    }

    It 'saves a model from the mirror as a verified cache entry, then finds it in the cache' {
        $first = Save-Model $Yolo
        $second = Save-Model $Yolo

        $first | Get-TypeName | Should -Be "$($TypeNames.CacheEntry)#Saved" -Because 'Save-Model''s own view shows where each model came from'
        $first.PSObject.TypeNames | Should -Contain $TypeNames.CacheEntry
        $first.Name | Should -Be $Yolo
        $first.Source.ToString() | Should -Be 'Mirror'
        $first.Sha256 | Should -Be $YoloSha
        $first.Size | Should -Be $YoloSize
        "$($first.LastCheck)" | Should -Be 'Passed'
        $first.Path | Should -Be (Join-Path $Sandbox.Cache "models/YOLOv8Face/YOLOV8_LITE_T/$YoloFile")
        Test-Path -LiteralPath $first.Path | Should -BeTrue
        $second.Source.ToString() | Should -Be 'Cache'
        "$($second.LastCheck)" | Should -Be 'Passed'
        $second.Path | Should -Be $first.Path
    }

    It 'emits the type its [OutputType] declares' {
        $declared = (Get-Command Save-Model).OutputType.Name
        (Save-Model $Slim).PSObject.BaseObject.GetType().FullName | Should -BeIn $declared
    }

    It 'resolves bare, case-insensitive names' {
        (Save-Model yolov8_lite_t).Name | Should -Be $Yolo
    }

    It 'takes names from the pipeline by value' {
        $saved = $Yolo, $Slim | Save-Model
        @($saved.Name | Sort-Object) | Should -Be @($Slim, $Yolo)
    }

    It 'takes catalog entries from the pipeline by property name (Get-ModelCatalog | Save-Model)' {
        $saved = Get-ModelCatalog -Family UltraFace | Save-Model
        @($saved.Name | Sort-Object) | Should -Be @($Rfb, $Slim)
        @($saved | Where-Object LastCheck -EQ 'Passed').Count | Should -Be 2
        @(($saved | Test-ModelHash).Status.ForEach({ "$_" })) | Should -Be @('Valid', 'Valid')
    }

    It 'reports an unknown name as ModelNotFound (ObjectNotFound) with the closest candidates' {
        $out = Save-Model MNET_V3 -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be 'MNET_V3'
        $errs[0].ErrorDetails.RecommendedAction | Should -Match 'RetinaFace/MNET_V2'
    }

    It 'reports an ambiguous bare name as AmbiguousModelName' {
        $null = Save-Model DEFAULT -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'AmbiguousModelName,*'
        $errs[0].Exception.Message | Should -Match 'AgeGender/DEFAULT'
    }

    It 'offline without a mirror, a missing model is ModelNotAvailableOffline (ResourceUnavailable) naming model, path and remedy' {
        $env:MODELCACHE_MIRROR = $null
        $out = Save-Model MNET_V2 -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ModelNotAvailableOffline,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $errs[0].Exception.Message | Should -Match 'RetinaFace/MNET_V2'
        $errs[0].Exception.Message | Should -Match ([regex]::Escape((Join-Path $Sandbox.Cache 'models')))
        $errs[0].ErrorDetails.RecommendedAction | Should -Match 'Save-Model RetinaFace/MNET_V2'
        $errs[0].TargetObject | Should -Be 'MNET_V2'
    }

    It 'a model missing from the mirror directory is SourceFileNotFound and does not stop the batch' {
        $out = Save-Model MNET_V2, $Yolo -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out.Name) | Should -Be @($Yolo)
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'SourceFileNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be 'MNET_V2'
    }

    It 'a -Mirror folder that does not exist is named as missing: one warning, and in each model''s error' {
        $missing = Join-Path $Sandbox.Root 'no/such/dir'

        $out = Save-Model $Yolo, $Slim -Mirror $missing -MirrorOnly -ErrorVariable errs -ErrorAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue

        $out | Should -BeNullOrEmpty
        @($warned | Where-Object { "$_" -like "*mirror folder '$missing' does not exist*" }).Count | Should -Be 1
        $errs.Count | Should -Be 2
        foreach ($err in $errs) {
            $err.Exception.Message | Should -BeLike "*mirror folder '$missing' does not exist*"
            $err.Exception.Message | Should -Not -Match 'yolov8-lite-t-face\.onnx. does not exist'
        }
    }

    It "-Mirror 'a;b' is split like `$env:MODELCACHE_MIRROR: an empty first mirror falls through to the second" {
        $empty = New-Item -ItemType Directory -Path (Join-Path $Sandbox.Cache 'empty-mirror') -Force
        $saved = Save-Model $Yolo -Mirror "$($empty.FullName);$env:MODELCACHE_MIRROR" -MirrorOnly -WarningVariable warned -WarningAction SilentlyContinue
        $saved.Name | Should -Be $Yolo
        $saved.Source.ToString() | Should -Be 'Mirror'
        @($warned | Where-Object { "$_" -like '*Trying the next source*' }).Count | Should -Be 1
    }

    It 'sets $? to false when a model fails' {
        $null = Save-Model MNET_V3 -ErrorAction SilentlyContinue
        $? | Should -BeFalse
        $null = Save-Model $Yolo
        $? | Should -BeTrue
    }

    It '-WhatIf saves nothing' {
        $out = Save-Model $Yolo -WhatIf
        $out | Should -BeNullOrEmpty
        Test-Path (Join-Path $Sandbox.Cache 'models') | Should -BeFalse
        Get-ModelCache | Should -BeNullOrEmpty
    }

    It '-Confirm:$false proceeds' {
        (Save-Model $Yolo -Confirm:$false).Name | Should -Be $Yolo
        (Get-ModelCache).Name | Should -Be $Yolo
    }

    It '-Path saves into the given root instead of the configured one' {
        $root = Join-Path $Sandbox.Root 'explicit'
        $saved = Save-Model $Yolo -CachePath $root
        $saved.CacheRoot | Should -Be $root
        Get-ModelCache | Should -BeNullOrEmpty
        (Get-ModelCache -CachePath $root).Name | Should -Be $Yolo
    }

    It '-Force fetches a cached model again' {
        $null = Save-Model $Yolo
        (Save-Model $Yolo -Force).Source.ToString() | Should -Be 'Mirror'
    }

    It 'replaces a corrupt cached file with a verified copy' {
        $path = (Save-Model $Yolo).Path
        [IO.File]::WriteAllBytes($path, [byte[]](1, 2, 3))
        $repaired = Save-Model $Yolo -WarningAction SilentlyContinue
        $repaired.Source.ToString() | Should -Be 'Mirror'
        (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash | Should -Be $YoloSha
    }
}

Describe 'Save-Model on a disk that is too small' {
    BeforeEach {
        $script:Sandbox = Enter-ModelCacheSandbox 'small-disk'
        $script:Disk = Join-Path $Sandbox.Root 'small-disk'
        $null = New-Item -ItemType Directory -Path $Disk
        # A real 1 MiB file system; CI runs as root and must run this, elsewhere it is skipped with the reason.
        $script:WhyNot = if (-not $IsLinux) { 'it needs Linux to mount a tmpfs' }
            elseif ((id -u) -ne '0') { 'it needs root to mount a tmpfs' }
            else { $null = & mount -t tmpfs -o size=1m tmpfs $Disk 2>&1; if ($LASTEXITCODE) { 'mount -t tmpfs failed' } }
    }

    AfterEach {
        if (-not $WhyNot) { & umount -l $Disk }
    }

    It 'fails before copying a byte, saying how much space is needed, and leaves nothing behind' {
        if ($WhyNot) { Set-ItResult -Skipped -Because $WhyNot; return }

        $result = Save-Model $Yolo -CachePath $Disk -ErrorVariable failed -ErrorAction SilentlyContinue

        $result | Should -BeNullOrEmpty
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'InsufficientDiskSpace,*'
        "$($failed[0].CategoryInfo.Category)" | Should -Be 'WriteError'
        $failed[0].Exception.Message | Should -Match 'more are needed'
        @(Get-ChildItem -Recurse -File -LiteralPath $Disk | Where-Object Length -gt 0) | Should -BeNullOrEmpty
    }
}
