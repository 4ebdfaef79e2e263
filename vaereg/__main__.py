from vaereg.cli import main

main()
