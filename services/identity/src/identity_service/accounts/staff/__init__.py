"""Staff administration: tenant admins and department managers manage staff and their roles."""
