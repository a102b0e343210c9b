# Invoke-FaceDetect on two small fixture photos with the small UltraFace slim-320 model.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'detect'
    $script:Photos = Join-Path $Sandbox.Root 'photos'
    $null = New-Item -ItemType Directory -Path $Photos
    Copy-Item (Join-Path $FixtureImages 'zidane.jpg'), (Join-Path $FixtureImages 'portrait.jpg') -Destination $Photos
    # Saved on first use from the mirror; every later detection reuses the cached model.
    $script:Results = Get-Item (Join-Path $Photos '*.jpg') | Invoke-FaceDetect -Model $Slim
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Invoke-FaceDetect' {
    It 'takes FileInfo objects from Get-Item *.jpg by property name and returns one result per image, in input order' {
        @($Results).Count | Should -Be 2
        $Results | ForEach-Object { $_ | Get-TypeName | Should -Be $TypeNames.DetectResult }
        @($Results.Path | ForEach-Object { Split-Path -Leaf $_ }) | Should -Be @('portrait.jpg', 'zidane.jpg')
        $Results | ForEach-Object { $_.Model | Should -Be $Slim }
    }

    It 'finds the faces the fixtures document (portrait 1; zidane 2, plus the third slim-320 reports)' {
        $portrait = $Results | Where-Object Path -like '*portrait.jpg'
        $zidane = $Results | Where-Object Path -like '*zidane.jpg'
        $portrait.FaceCount | Should -Be 1
        $portrait.Width | Should -Be 1024
        $portrait.Height | Should -Be 1024
        $zidane.FaceCount | Should -Be 3
        $zidane.Width | Should -Be 1280
        $zidane.Faces.Count | Should -Be $zidane.FaceCount
    }

    It 'emits the types its [OutputType] declares' {
        $declared = (Get-Command Invoke-FaceDetect).OutputType.Name
        $Results[0] | Get-TypeName | Should -BeIn $declared
        Invoke-FaceDetect (Join-Path $Photos 'portrait.jpg') -Model $Slim -AsFace | Get-TypeName | Should -BeIn $declared
    }

    It '-AsFace writes one face object per face with a box inside the image' {
        $faces = Invoke-FaceDetect -Path (Join-Path $Photos 'zidane.jpg') -Model $Slim -AsFace
        @($faces).Count | Should -Be 3
        $faces | ForEach-Object {
            $_ | Get-TypeName | Should -Be $TypeNames.Face
            $_.Confidence | Should -BeGreaterThan 0.5
            $_.BoundingBox.X | Should -BeGreaterOrEqual 0
            ($_.BoundingBox.X + $_.BoundingBox.Width) | Should -BeLessOrEqual 1281
        }
    }

    It 'takes path strings from the pipeline by value and expands wildcards' {
        @((Join-Path $Photos '*.jpg') | Invoke-FaceDetect -Model $Slim).Count | Should -Be 2
    }

    It 'a missing image is a non-terminating ImageNotFound error (ObjectNotFound) and the batch goes on' {
        $out = Invoke-FaceDetect -LiteralPath (Join-Path $Photos 'nope.jpg'), (Join-Path $Photos 'portrait.jpg') -Model $Slim -ErrorVariable errs -ErrorAction SilentlyContinue
        @($out).Count | Should -Be 1
        $out.FaceCount | Should -Be 1
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'a corrupt image is a non-terminating ImageDecodeFailed error (InvalidData)' {
        $bad = Join-Path $Sandbox.Root 'bad.jpg'
        Set-Content -LiteralPath $bad -Value 'not an image'
        $out = Invoke-FaceDetect -LiteralPath $bad -Model $Slim -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ImageDecodeFailed,*'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It '-AnnotatedPath with -WhatIf writes nothing; with -Confirm:$false writes the annotated copy' {
        $out = Join-Path $Sandbox.Root 'annotated'
        Invoke-FaceDetect (Join-Path $Photos 'portrait.jpg') -Model $Slim -AnnotatedPath $out -WhatIf | Should -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $out 'portrait.jpg') | Should -BeFalse

        (Invoke-FaceDetect (Join-Path $Photos 'portrait.jpg') -Model $Slim -AnnotatedPath $out -Confirm:$false).FaceCount | Should -Be 1
        (Get-Item -LiteralPath (Join-Path $out 'portrait.jpg')).Length | Should -BeGreaterThan 1000
    }

    It 'a model that is not a face detector is rejected (NotAFaceDetector)' {
        { Invoke-FaceDetect (Join-Path $Photos 'portrait.jpg') -Model ArcFace/MNET -ErrorAction Stop } | Should -Throw -ErrorId 'NotAFaceDetector,ModelCache.PowerShell.Cmdlets.InvokeFaceDetectCommand'
    }

    It 'gives ONNX Runtime every core for a call known to be one image, and one share per image otherwise' {
        # The verbose run description names the threads; a piped item may be one of many, so it gets the share.
        function Threads([scriptblock] $Call) {
            $line = @(& $Call 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*thread(s) per image*' })[0].Message
            [int]($line -replace '(?s).*, (\d+) ONNX Runtime thread\(s\) per image.*', '$1')
        }
        $cores = [Environment]::ProcessorCount
        $share = [Math]::Max(1, [Math]::Floor($cores / [Math]::Min($cores, 4)))
        $one = Join-Path $Photos 'portrait.jpg'

        Threads { Invoke-FaceDetect -LiteralPath $one -Model $Slim -Verbose } | Should -Be $cores
        Threads { Invoke-FaceDetect $one -Model $Slim -Verbose } | Should -Be $cores
        Threads { Invoke-FaceDetect -Path $Photos -Model $Slim -Verbose } | Should -Be $share
        Threads { Get-Item $one | Invoke-FaceDetect -Model $Slim -Verbose } | Should -Be $share
        Threads { Invoke-FaceDetect -LiteralPath $one -Model $Slim -Tile -Verbose } | Should -Be $share
        Threads { Invoke-FaceDetect -LiteralPath $one -Model $Slim -IntraOpThreads 1 -Verbose } | Should -Be 1
    }

    It 'decodes colour JPEGs with the system''s libjpeg-turbo where it is installed (Linux: libturbojpeg0), else with SkiaSharp' {
        # Loaded by the module inside pwsh, not only by the library's tests; on Linux CI it must be there (.ci/run installs it).
        $installed = $IsLinux -and [bool](& ldconfig -p 2>$null | Select-String -SimpleMatch 'libturbojpeg.so.0')
        if ($IsLinux -and $env:CI -eq 'true' -and -not $installed) { throw 'libturbojpeg is not installed (apt-get install libturbojpeg0).' }
        $line = @(Invoke-FaceDetect -LiteralPath (Join-Path $Photos 'portrait.jpg') -Model $Slim -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*colour JPEGs decoded by*' })[0].Message
        $line | Should -BeLike $(if ($installed) { "*decoded by the system's libjpeg-turbo." } else { '*decoded by SkiaSharp.' })
    }
}
