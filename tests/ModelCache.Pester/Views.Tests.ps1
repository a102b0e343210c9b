# Default table views at 80 columns: the key columns keep their headers and whole values.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'views'

    # Formats like a console 80 columns wide; returns the non-empty lines.
    function Format-At80 {
        param([Parameter(ValueFromPipeline)] $InputObject)
        begin { $items = [System.Collections.Generic.List[object]]::new() }
        process { $items.Add($InputObject) }
        end { ($items | Format-Table | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() } }
    }

    function Assert-Table {
        param([string[]] $Lines, [string[]] $Headers, [string[]] $Values)
        $Lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $headerWords = $Lines[0] -split '\s+' | Where-Object { $_ }
        foreach ($header in $Headers) { $headerWords | Should -Contain $header }
        $body = $Lines | Select-Object -Skip 2
        foreach ($value in $Values) {
            @($body | Where-Object { $_ -match "(^|\s)$([regex]::Escape($value))(\s|$)" }).Count | Should -BeGreaterThan 0 -Because "'$value' should be shown whole in:`n$($Lines -join "`n")"
        }
    }
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Default views at 80 columns' {
    It 'Get-ModelCatalog shows every Name whole, with Task, Size, Default and Cached' {
        $catalog = Get-ModelCatalog
        $lines = $catalog | Format-At80
        Assert-Table $lines -Headers Name, Task, Size, Default, Cached -Values $catalog.Name
    }

    It 'Save-Model shows Name, Task, LastCheck and Source whole' {
        $lines = Save-Model $Yolo, 'RetinaFace/MNET_025_BIUBUG6' | Format-At80
        Assert-Table $lines -Headers Name, Task, 'Size(MB)', LastCheck, Source -Values $Yolo, 'RetinaFace/MNET_025_BIUBUG6', 'face_detection', 'Passed', 'Mirror'
    }

    It 'Get-ModelCache shows Name, Task and LastCheck whole' {
        $lines = Get-ModelCache | Format-At80
        Assert-Table $lines -Headers Name, Task, 'Size(MB)', LastCheck -Values $Yolo, 'RetinaFace/MNET_025_BIUBUG6', 'face_detection', 'Passed'
    }

    It 'Test-ModelHash shows Status and Name whole' {
        $null = Save-Model $Yolo
        $lines = Test-ModelHash $Yolo | Format-At80
        Assert-Table $lines -Headers Status, Name, Actual -Values 'Valid', $Yolo
    }

    It 'Get-ModelCacheLocation shows Source and Path whole' {
        $lines = Get-ModelCacheLocation -Path /srv/models | Format-At80
        Assert-Table $lines -Headers Source, Path -Values 'Parameter', '/srv/models'
    }

    It 'Invoke-FaceDetect shows FaceCount and Model whole' {
        $lines = Invoke-FaceDetect (Join-Path $FixtureImages 'portrait.jpg') -Model $Slim | Format-At80
        Assert-Table $lines -Headers Path, FaceCount, Model -Values '1', $Slim
    }

    It 'Invoke-FaceDetect -AsFace shows Confidence and the box' {
        $face = Invoke-FaceDetect (Join-Path $FixtureImages 'portrait.jpg') -Model $Slim -AsFace
        $lines = $face | Format-At80
        Assert-Table $lines -Headers Confidence, X, Y, Width, Height -Values ('{0:0.000}' -f $face.Confidence), ('{0:0}' -f $face.BoundingBox.Width)
    }
}
