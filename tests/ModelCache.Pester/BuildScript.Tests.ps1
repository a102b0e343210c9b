# build.ps1 must keep running in Windows PowerShell 5.1, which CI here does not have: so its syntax is
# checked for anything newer than 5.1, and it is run under strict mode in a child pwsh.

BeforeDiscovery {
    $repoRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..'))
    $manifestText = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($repoRoot, 'ModelCache.psd1'))
    $rootModule = [regex]::Match($manifestText, "(?m)^\s*RootModule\s*=\s*'([^']+)'").Groups[1].Value
    # Packaging needs a built clone; the Test task builds first.
    $cloneIsBuilt = [System.IO.File]::Exists([System.IO.Path]::Combine($repoRoot, $rootModule))
}

BeforeAll {
    $repoRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..'))
    $buildScript = [System.IO.Path]::Combine($repoRoot, 'build.ps1')
    $tokens = $null
    $parseErrors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseFile($buildScript, [ref]$tokens, [ref]$parseErrors)

    function Find-Syntax([scriptblock] $Predicate) {
        # Every node matching $Predicate, as "line N: text", so a failure says where.
        @($ast.FindAll($Predicate, $true) | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Extent.Text)" })
    }
}

Describe 'build.ps1 uses only Windows PowerShell 5.1 syntax' {
    It 'parses without errors' {
        @($parseErrors | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Message)" }) | Should -BeNullOrEmpty
    }

    It 'has no ternary operator (a ? b : c)' {
        Find-Syntax { param($node) $node -is [System.Management.Automation.Language.TernaryExpressionAst] } | Should -BeNullOrEmpty
    }

    It 'has no pipeline chains (a && b, a || b)' {
        Find-Syntax { param($node) $node -is [System.Management.Automation.Language.PipelineChainAst] } | Should -BeNullOrEmpty
    }

    It 'has no null-coalescing operators (?? and ??=)' {
        Find-Syntax {
            param($node)
            ($node -is [System.Management.Automation.Language.BinaryExpressionAst] -and
                $node.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestion) -or
            ($node -is [System.Management.Automation.Language.AssignmentStatementAst] -and
                $node.Operator -eq [System.Management.Automation.Language.TokenKind]::QuestionQuestionEquals)
        } | Should -BeNullOrEmpty
    }

    It 'has no null-conditional access (?. and ?[])' {
        Find-Syntax {
            param($node)
            ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.NullConditional) -or
            ($node -is [System.Management.Automation.Language.IndexExpressionAst] -and $node.NullConditional)
        } | Should -BeNullOrEmpty
    }

    It 'has none of the tokens PowerShell 7 added' {
        $newer = @('QuestionMark', 'QuestionQuestion', 'QuestionQuestionEquals', 'QuestionDot', 'QuestionLBracket', 'AndAnd', 'OrOr')
        @($tokens | Where-Object { $newer -contains $_.Kind.ToString() } | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Text)" }) |
            Should -BeNullOrEmpty
    }

    It 'has no ForEach-Object -Parallel' {
        # Any unambiguous abbreviation too (-Pa, -Par, ...); -ThrottleLimit and -AsJob come with it.
        Find-Syntax {
            param($node)
            $node -is [System.Management.Automation.Language.CommandParameterAst] -and
            $node.ParameterName.Length -ge 2 -and 'Parallel'.StartsWith($node.ParameterName, [System.StringComparison]::OrdinalIgnoreCase)
        } | Should -BeNullOrEmpty
    }

    It 'has no clean {} blocks' {
        Find-Syntax { param($node) $node -is [System.Management.Automation.Language.ScriptBlockAst] -and $null -ne $node.CleanBlock } |
            Should -BeNullOrEmpty
    }

    It 'has no [NullString] and no parameters that appeared after 5.1' {
        Find-Syntax {
            param($node)
            (($node -is [System.Management.Automation.Language.TypeExpressionAst] -or $node -is [System.Management.Automation.Language.TypeConstraintAst]) -and
                $node.TypeName.Name -match 'NullString') -or
            ($node -is [System.Management.Automation.Language.CommandParameterAst] -and
                @('AdditionalChildPath', 'AsByteStream', 'AsHashtable', 'SkipHttpErrorCheck') -contains $node.ParameterName) -or
            ($node -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $node.Value -eq 'utf8NoBOM')
        } | Should -BeNullOrEmpty
    }
}

Describe 'build.ps1 under Set-StrictMode -Version 3' {
    It 'packages the built clone for one runtime in a child pwsh' -Skip:(-not $cloneIsBuilt) {
        $rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
        $outputPath = [System.IO.Path]::Combine($TestDrive, 'ModelCache')
        $repositoryPath = [System.IO.Path]::Combine($TestDrive, 'repository')
        $quote = { param($text) "'" + $text.Replace("'", "''") + "'" }
        $runner = [System.IO.Path]::Combine($TestDrive, 'package-strict.ps1')
        [System.IO.File]::WriteAllText($runner, (
            "Set-StrictMode -Version 3`n" +
            "& $(& $quote $buildScript) -Task Package -NoBuild -Runtime $rid -OutputPath $(& $quote $outputPath) -RepositoryPath $(& $quote $repositoryPath)`n" +
            "exit `$LASTEXITCODE`n"))

        Push-Location $repoRoot   # `dotnet pwsh` finds the tool manifest from the working directory
        try { $output = & dotnet pwsh -NoProfile -NonInteractive -File $runner 2>&1 } finally { Pop-Location }
        # Plain text for the report (JUnit XML cannot carry terminal escape sequences).
        $log = (($output | ForEach-Object { "$_" }) -join "`n") -replace '\x1b\[[0-9;]*[A-Za-z]', '' -replace '[\x00-\x08\x0b\x0c\x0e-\x1f]', ''

        $LASTEXITCODE | Should -Be 0 -Because $log
        [System.IO.File]::Exists([System.IO.Path]::Combine($outputPath, 'ModelCache.psd1')) | Should -BeTrue
        [System.IO.File]::Exists([System.IO.Path]::Combine($outputPath, 'LICENSE')) | Should -BeTrue
        @([System.IO.Directory]::GetFiles([System.IO.Path]::Combine($outputPath, 'en-US'), '*-Help.xml')).Count | Should -BeGreaterThan 0
        $otherRuntimes = @([System.IO.Directory]::GetFiles($outputPath, '*', [System.IO.SearchOption]::AllDirectories) |
            ForEach-Object { $_.Substring($outputPath.Length).Replace('\', '/') } |
            Where-Object { $_ -match '/runtimes/([^/]+)/' -and $Matches[1] -ne $rid })
        $otherRuntimes | Should -BeNullOrEmpty

        # The repository folder holds the package alone (PSResourceGet reads every file there as one);
        # the checksum sits beside the folder.
        $nupkg = @([System.IO.Directory]::GetFiles($repositoryPath))
        $nupkg.Count | Should -Be 1
        $nupkg[0] | Should -BeLike '*ModelCache.*.nupkg'
        $line = [System.IO.File]::ReadAllText([System.IO.Path]::Combine([System.IO.Path]::GetDirectoryName($repositoryPath), [System.IO.Path]::GetFileName($nupkg[0]) + '.sha256'))
        $line | Should -Match '^[0-9a-f]{64}  ModelCache\.[0-9.]+\.nupkg\n$'
        $line.Substring(0, 64) | Should -Be (Get-FileHash -LiteralPath $nupkg[0] -Algorithm SHA256).Hash.ToLowerInvariant()
    }
}
