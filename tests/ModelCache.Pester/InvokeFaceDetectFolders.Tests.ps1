# Invoke-FaceDetect on folders: -Path photos/ means the images in it (-Recurse for subfolders), in ordinal order of
# their full paths; an empty folder is a warning; links to folders, FIFOs and other non-images are skipped.

BeforeAll {
    . $PSScriptRoot/TestSupport.ps1
    Import-ModelCacheUnderTest
    $script:Sandbox = Enter-ModelCacheSandbox 'folders'
    $script:Photos = Join-Path $Sandbox.Root 'photos'
    $null = New-Item -ItemType Directory -Path (Join-Path $Photos 'sub')
    Copy-Item (Join-Path $FixtureImages 'zidane.jpg'), (Join-Path $FixtureImages 'portrait.jpg') -Destination $Photos
    # Extensions match case-insensitively; ordinal order puts 'UPPER.JPG' before 'portrait.jpg'.
    Copy-Item (Join-Path $FixtureImages 'portrait.jpg') -Destination (Join-Path $Photos 'UPPER.JPG')
    Copy-Item (Join-Path $FixtureImages 'gorilla.png') -Destination (Join-Path $Photos 'sub/b.png')
    Set-Content -LiteralPath (Join-Path $Photos 'notes.txt') -Value 'not an image'
    $script:Leaves = { param($Results) @($Results.Path | ForEach-Object { $_.Substring($Photos.Length + 1).Replace('\', '/') }) }
    $null = Save-Model $Slim -ErrorAction Stop
}

AfterAll {
    Exit-ModelCacheSandbox
}

Describe 'Invoke-FaceDetect on a folder' {
    It '-Path photos/ detects the images directly in it, in ordinal order of their full paths, and nothing else' {
        $results = Invoke-FaceDetect -Path ($Photos + [IO.Path]::DirectorySeparatorChar) -Model $Slim -ErrorAction Stop
        & $Leaves $results | Should -Be @('UPPER.JPG', 'portrait.jpg', 'zidane.jpg')
        ($results | Where-Object Path -like '*zidane.jpg').FaceCount | Should -Be 3
    }

    It '-Recurse adds the images in subfolders, still in ordinal order of full paths' {
        $results = Invoke-FaceDetect -Path $Photos -Recurse -Model $Slim -ErrorAction Stop
        & $Leaves $results | Should -Be @('UPPER.JPG', 'portrait.jpg', 'sub/b.png', 'zidane.jpg')
    }

    It '-LiteralPath takes a folder whose name has wildcard characters' {
        $odd = Join-Path $Sandbox.Root 'odd [1]'
        $null = [IO.Directory]::CreateDirectory($odd)
        [IO.File]::Copy((Join-Path $FixtureImages 'portrait.jpg'), (Join-Path $odd 'portrait.jpg'))
        $results = Invoke-FaceDetect -LiteralPath $odd -Model $Slim -ErrorAction Stop
        @($results).Count | Should -Be 1
        $results.Path | Should -Be (Join-Path $odd 'portrait.jpg')
    }

    It 'Get-ChildItem -Recurse | Invoke-FaceDetect detects each image once: piped folder items are not expanded' {
        $results = Get-ChildItem -LiteralPath $Photos -Recurse | Where-Object Name -ne 'notes.txt' | Invoke-FaceDetect -Model $Slim -ErrorAction Stop
        @($results.Path | Sort-Object -Unique).Count | Should -Be 4
        @($results).Count | Should -Be 4
    }

    It 'a folder item piped alone is a warning that says to pass the folder by name, not silence' {
        $out = Get-Item -LiteralPath $Photos | Invoke-FaceDetect -Model $Slim -ErrorVariable errs -WarningVariable warns -WarningAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 0
        @($warns).Count | Should -Be 1
        "$($warns[0])" | Should -BeLike "*$Photos*-Path*"
    }

    It 'folder names piped as strings mean their images' {
        @($Photos | Invoke-FaceDetect -Model $Slim -ErrorAction Stop).Count | Should -Be 3
    }

    It 'an empty folder is a warning naming the folder and the extensions, not an error' -ForEach @(
        @{ Kind = 'empty'; Files = @() }
        @{ Kind = 'non-images only'; Files = @('readme.txt', 'data.json') }
    ) {
        $folder = Join-Path $Sandbox.Root ('none-' + [guid]::NewGuid().ToString('n').Substring(0, 6))
        $null = New-Item -ItemType Directory -Path $folder
        foreach ($file in $Files) { Set-Content -LiteralPath (Join-Path $folder $file) -Value 'x' }
        $out = Invoke-FaceDetect -Path $folder -Model $Slim -ErrorVariable errs -WarningVariable warns -WarningAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 0
        $warns.Count | Should -Be 1
        "$($warns[0])" | Should -BeLike "*$folder*"
        "$($warns[0])" | Should -BeLike '*.jpg*'
        "$($warns[0])" | Should -BeLike '*.png*'
    }

    It 'a missing path is still ImageNotFound' {
        $null = Invoke-FaceDetect -Path (Join-Path $Sandbox.Root 'no-such-folder') -Model $Slim -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
    }

    It 'a FIFO named like an image in the folder is skipped with a warning and does not hang' -Skip:$IsWindows {
        $folder = Join-Path $Sandbox.Root 'with-fifo'
        $null = New-Item -ItemType Directory -Path $folder
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg') -Destination $folder
        & mkfifo (Join-Path $folder 'pipe.jpg')
        $LASTEXITCODE | Should -Be 0
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                param($Module, $Folder, $Model)
                Import-Module $Module -ErrorAction Stop
                $results = @(Invoke-FaceDetect -Path $Folder -Recurse -Model $Model -WarningVariable warns -WarningAction SilentlyContinue -ErrorVariable errs -ErrorAction SilentlyContinue)
                [pscustomobject]@{ Results = $results; Warnings = @($warns | ForEach-Object { "$_" }); Errors = @($errs) }
            }).AddArgument($ModuleUnderTest).AddArgument($folder).AddArgument($Slim)
            $async = $ps.BeginInvoke()
            $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(120)) | Should -BeTrue -Because 'a FIFO must never be opened'
            $outcome = $ps.EndInvoke($async)[0]
        }
        finally {
            if (-not $async.IsCompleted) { $null = $ps.BeginStop($null, $null) } else { $ps.Dispose() }
        }
        @($outcome.Results).Count | Should -Be 1
        $outcome.Errors.Count | Should -Be 0
        @($outcome.Warnings | Where-Object { $_ -like '*pipe.jpg*' }).Count | Should -Be 1
    }

    It '-Recurse does not follow a link to a folder outside, and says so with -Verbose' -Skip:$IsWindows {
        $outside = Join-Path $Sandbox.Root 'outside'
        $folder = Join-Path $Sandbox.Root 'linked'
        $null = New-Item -ItemType Directory -Path $outside, $folder
        Copy-Item (Join-Path $FixtureImages 'zidane.jpg') -Destination $outside
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg') -Destination $folder
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $folder 'elsewhere') -Target $outside
        # A link to a file is an image like any other.
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $folder 'team.jpg') -Target (Join-Path $outside 'zidane.jpg')
        $all = @(Invoke-FaceDetect -Path $folder -Recurse -Model $Slim -Verbose -ErrorAction Stop 4>&1)
        $results = @($all | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        @($results.Path | ForEach-Object { Split-Path -Leaf $_ }) | Should -Be @('portrait.jpg', 'team.jpg')
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like '*elsewhere*' }).Count | Should -Be 1
    }

    It '-Recurse refuses a folder nested deeper than the cap with ImageFolderTooDeep' {
        $deep = Join-Path $Sandbox.Root 'deep'
        $leaf = $deep
        foreach ($level in 1..33) { $leaf = Join-Path $leaf 'd' }
        $null = New-Item -ItemType Directory -Path $leaf
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg') -Destination $deep
        $out = Invoke-FaceDetect -Path $deep -Recurse -Model $Slim -ErrorVariable errs -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $errs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -BeLike 'ImageFolderTooDeep,*'
        $errs[0].TargetObject | Should -Be $deep
        # Without -Recurse the depth does not matter.
        @(Invoke-FaceDetect -Path $deep -Model $Slim -ErrorAction Stop).Count | Should -Be 1
    }

    It 'images with the same name in different subfolders keep their folders under -AnnotatedPath and -CropPath' {
        $folder = Join-Path $Sandbox.Root 'same-names'
        $null = New-Item -ItemType Directory -Path (Join-Path $folder 'a'), (Join-Path $folder 'b')
        Copy-Item (Join-Path $FixtureImages 'zidane.jpg') -Destination (Join-Path $folder 'a/face.jpg')
        Copy-Item (Join-Path $FixtureImages 'portrait.jpg') -Destination (Join-Path $folder 'b/face.jpg')
        $annotated = Join-Path $Sandbox.Root 'same-annotated'
        $crops = Join-Path $Sandbox.Root 'same-crops'
        $results = Invoke-FaceDetect -Path $folder -Recurse -Model $Slim -AnnotatedPath $annotated -CropPath $crops -Confirm:$false -ErrorAction Stop
        @($results).Count | Should -Be 2
        (Get-Item -LiteralPath (Join-Path $annotated 'a/face.jpg')).Length | Should -BeGreaterThan 0
        (Get-Item -LiteralPath (Join-Path $annotated 'b/face.jpg')).Length | Should -BeGreaterThan 0
        (Get-FileHash (Join-Path $annotated 'a/face.jpg')).Hash | Should -Not -Be (Get-FileHash (Join-Path $annotated 'b/face.jpg')).Hash
        @(Get-ChildItem -LiteralPath (Join-Path $crops 'a') -Filter 'face_face*.jpg').Count | Should -Be 3
        @(Get-ChildItem -LiteralPath (Join-Path $crops 'b') -Filter 'face_face*.jpg').Count | Should -Be 1
    }
}
