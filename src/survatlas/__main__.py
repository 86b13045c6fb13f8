from survatlas.cli import run

run()
