# Tab completion of model names from the local catalog.

BeforeDiscovery {
    $script:Cases = @(
        @{ Line = 'Save-Model MNET'; Expected = @('MNET_V2', 'MNET_025_BIUBUG6') ; Prefix = 'MNET' }
        @{ Line = 'Save-Model RetinaFace/MN'; Expected = @('RetinaFace/MNET_V2', 'RetinaFace/MNET_025'); Prefix = 'RetinaFace/MN' }
        @{ Line = 'Get-ModelCatalog -Name Retina'; Expected = @('RetinaFace/MNET_V2', 'RetinaFace/RESNET34'); Prefix = 'Retina' }
        @{ Line = 'Test-ModelHash yolov8'; Expected = @('YOLOv8Face/YOLOV8_LITE_T'); Prefix = 'yolov8' }
        @{ Line = 'Invoke-FaceDetect -Path x.jpg -Model ultra'; Expected = @('UltraFace/SLIM_320', 'UltraFace/RFB_320'); Prefix = 'ultra' }
        @{ Line = 'Clear-ModelCache SCRFD/'; Expected = @('SCRFD/SCRFD_10G_KPS'); Prefix = 'SCRFD/' }
    )
}

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    # No user catalog from the real environment: only the built-in names.
    $null = Enter-ModelCacheSandbox 'completion'
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Model name completion' {
    It "'<Line>' completes to catalog names starting with '<Prefix>'" -ForEach $Cases {
        $completions = (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
        foreach ($name in $Expected) { $completions | Should -Contain $name }
        $completions | ForEach-Object { $_ | Should -BeLike "$Prefix*" }
    }

    It 'offers nothing for a prefix no model has' {
        (TabExpansion2 -inputScript 'Save-Model ZZZ' -cursorColumn 14).CompletionMatches | Should -BeNullOrEmpty
    }
}
